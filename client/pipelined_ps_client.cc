#include "client/pipelined_ps_client.h"

#include "common/status_macros.h"

namespace petrel::worker {

PipelinedPsClient::PipelinedPsClient(PsClient* inner, bool background)
    : inner_(inner), background_(background) {
  if (background_) thread_ = std::thread([this] { Loop(); });
}

PipelinedPsClient::~PipelinedPsClient() {
  if (!background_) return;
  Finish().IgnoreError();  // nobody is left to hear of it
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void PipelinedPsClient::Loop() {
  while (true) {
    std::function<absl::Status()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(this, &PipelinedPsClient::TaskOrStop));
      if (task_ == nullptr) return;  // stopping, nothing posted
      task = std::move(task_);
      task_ = nullptr;
    }
    absl::Status status = task();
    absl::MutexLock lock(&mu_);
    result_ = std::move(status);
    busy_ = false;
  }
}

absl::Status PipelinedPsClient::Finish() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(this, &PipelinedPsClient::Idle));
  absl::Status status = std::move(result_);
  result_ = absl::OkStatus();
  return status;
}

absl::Status PipelinedPsClient::RunPushPull(int64_t clock,
                                            const std::vector<std::vector<float>>& gradients) {
  PETREL_RETURN_IF_ERROR(inner_->PushPull(clock, gradients, &next_));
  next_clock_ = clock + 1;
  return absl::OkStatus();
}

absl::Status PipelinedPsClient::Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                                     SparseStep* sparse) {
  PETREL_RETURN_IF_ERROR(Finish());
  const bool held = next_clock_ == clock && sparse == nullptr;
  next_clock_ = -1;  // values serve one pull of their own clock, never a later one
  if (!held) return inner_->Pull(clock, tables, sparse);
  // The caller's old buffers take the next push-pull's values: no copy.
  tables->swap(next_);
  ++pulls_saved_;
  return absl::OkStatus();
}

absl::Status PipelinedPsClient::Push(int64_t clock,
                                     const std::vector<std::vector<float>>& gradients,
                                     const SparseStep* sparse) {
  PETREL_RETURN_IF_ERROR(Finish());
  next_clock_ = -1;
  // The next step's sparse keys are not known yet: it pulls anyway.
  if (sparse != nullptr) return inner_->Push(clock, gradients, sparse);
  if (!background_) return RunPushPull(clock, gradients);
  absl::MutexLock lock(&mu_);
  task_ = [this, clock, &gradients] { return RunPushPull(clock, gradients); };
  busy_ = true;
  return absl::OkStatus();
}

absl::Status PipelinedPsClient::PushPull(int64_t clock,
                                         const std::vector<std::vector<float>>& gradients,
                                         std::vector<std::vector<float>>* next) {
  PETREL_RETURN_IF_ERROR(Finish());
  next_clock_ = -1;
  return inner_->PushPull(clock, gradients, next);
}

absl::Status PipelinedPsClient::Leave(int64_t clock) {
  PETREL_RETURN_IF_ERROR(Finish());
  // Pulls after leaving (the final evaluation) want the parameters the
  // others go on to produce, not the last push-pull's.
  next_clock_ = -1;
  return inner_->Leave(clock);
}

absl::Status PipelinedPsClient::PushRoundUpdate(int64_t round,
                                                const std::vector<std::vector<uint64_t>>& update,
                                                uint64_t weight) {
  PETREL_RETURN_IF_ERROR(Finish());
  return inner_->PushRoundUpdate(round, update, weight);
}

}  // namespace petrel::worker

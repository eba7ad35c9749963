// A PsClient that saves a worker one round trip per step: each dense Push
// becomes a push-pull (PsClient::PushPull) whose answer, the values of
// clock + 1, serves the next Pull of that clock without a call; the first
// step, and any Pull of another clock or with sparse rows, still pulls.
//
// With `background` (meant for SSP and async jobs; the trainer does not
// use it, see worker/trainer.cc for the measurement) the push-pull runs on this
// client's own thread while the trainer moves on (progress reports, the
// next batch's data), and the next call waits for it.
// Why that never shows the worker values staler than the job's bound: the
// values for clock + 1 are asked for only inside the answer to the push of
// clock, so the server computes them after that push is applied, and they
// pass the server's staleness gate for clock + 1 exactly as Pull(clock + 1)
// would (server/job_shards.h PullAfterPush); Pull hands them out for that
// clock only, once. Nothing is read before the gate releases it, and
// nothing released for one clock is used for a later one.
//
// One caller at a time, as any PsClient. The gradients given to Push must
// stay unchanged until the next call on this client (step models rewrite
// them only after their next Pull). A failed background push-pull is
// returned by the next call.
#ifndef PETREL_CLIENT_PIPELINED_PS_CLIENT_H_
#define PETREL_CLIENT_PIPELINED_PS_CLIENT_H_

#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "client/ps_client.h"

namespace petrel::worker {

class PipelinedPsClient : public PsClient {
 public:
  // `inner` is not owned and is called from one thread at a time: the
  // caller's, or this client's while a push-pull runs in the background.
  PipelinedPsClient(PsClient* inner, bool background);
  ~PipelinedPsClient() override;  // waits for the push-pull in flight

  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                    SparseStep* sparse) override;
  absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                    const SparseStep* sparse) override;
  absl::Status PushPull(int64_t clock, const std::vector<std::vector<float>>& gradients,
                        std::vector<std::vector<float>>* next) override;
  absl::Status Leave(int64_t clock) override;
  absl::Status PushRoundUpdate(int64_t round, const std::vector<std::vector<uint64_t>>& update,
                               uint64_t weight) override;

  // Pulls answered from a push-pull's values, without a call.
  int64_t pulls_saved() const { return pulls_saved_; }

 private:
  // Waits for the background push-pull, if one runs; its status.
  absl::Status Finish();
  // The push-pull of `clock`, into next_.
  absl::Status RunPushPull(int64_t clock, const std::vector<std::vector<float>>& gradients);
  void Loop();
  bool TaskOrStop() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return task_ != nullptr || stopping_;
  }
  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !busy_; }

  PsClient* const inner_;
  const bool background_;
  // The values of clock next_clock_ from the last push-pull (-1: none).
  // Written by whoever runs the push-pull; read by the caller after
  // Finish(), whose lock orders the two.
  std::vector<std::vector<float>> next_;
  int64_t next_clock_ = -1;
  int64_t pulls_saved_ = 0;

  absl::Mutex mu_;
  std::function<absl::Status()> task_ ABSL_GUARDED_BY(mu_);  // posted, not yet taken
  bool busy_ ABSL_GUARDED_BY(mu_) = false;                   // a task posted or running
  absl::Status result_ ABSL_GUARDED_BY(mu_);                 // the last task's
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;  // with `background` only; declared last, started last
};

}  // namespace petrel::worker

#endif  // PETREL_CLIENT_PIPELINED_PS_CLIENT_H_

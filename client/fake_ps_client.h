// Test doubles of PsClient (testonly). FakePsClient keeps a job's tables in
// memory: a pull copies them out, a push applies plain SGD (value -=
// learning_rate * gradient), or with learning_rate 0 leaves them as they
// are; every call is logged, and the next N calls can be made to fail.
// ForwardingPsClient lends a fake the test keeps to code that wants to own
// its client (ReroutingOptions::make_client).
#ifndef PETREL_CLIENT_FAKE_PS_CLIENT_H_
#define PETREL_CLIENT_FAKE_PS_CLIENT_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "client/ps_client.h"

namespace petrel::worker {

class FakePsClient : public PsClient {
 public:
  enum class Kind { kPull, kPush, kLeave, kRoundUpdate };
  struct Call {
    Kind kind;
    int64_t clock;  // the round of a kRoundUpdate
    bool ok;        // false: it failed (FailNextCalls, or a bad request)
  };

  // `tables` are the dense tables' starting values; `sparse_dims` the row
  // width of each sparse table (rows start at zero).
  explicit FakePsClient(std::vector<std::vector<float>> tables, float learning_rate = 0,
                        std::vector<int> sparse_dims = {});

  // After `after` more calls (of any kind) succeed, the `n` calls that
  // follow fail with `status` and change nothing.
  void FailNextCalls(int n, absl::Status status, int after = 0);

  std::vector<Call> calls() const;
  // The clocks of the successful calls of `kind`, in order.
  std::vector<int64_t> Clocks(Kind kind) const;
  std::vector<std::vector<float>> tables() const;
  // Row `key` of sparse table `table` (zeros if never pushed).
  std::vector<float> SparseRow(int table, uint64_t key) const;
  // The last round update received, and its weight.
  std::vector<std::vector<uint64_t>> last_round_update() const;
  uint64_t last_round_weight() const;

  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                    SparseStep* sparse = nullptr) override;
  absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                    const SparseStep* sparse = nullptr) override;
  absl::Status Leave(int64_t clock) override;
  absl::Status PushRoundUpdate(int64_t round, const std::vector<std::vector<uint64_t>>& update,
                               uint64_t weight) override;

 private:
  // Logs the call; the injected failure it takes, or OK.
  absl::Status Begin(Kind kind, int64_t clock) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the call Begin logged last as failed when `status` is not OK.
  absl::Status End(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckSparse(const SparseStep* sparse, bool push) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const float learning_rate_;
  const std::vector<int> sparse_dims_;
  mutable absl::Mutex mu_;
  std::vector<std::vector<float>> tables_ ABSL_GUARDED_BY(mu_);
  std::vector<std::map<uint64_t, std::vector<float>>> sparse_rows_ ABSL_GUARDED_BY(mu_);
  std::vector<Call> calls_ ABSL_GUARDED_BY(mu_);
  int successes_before_failures_ ABSL_GUARDED_BY(mu_) = 0;
  int failures_left_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool left_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::vector<uint64_t>> round_update_ ABSL_GUARDED_BY(mu_);
  uint64_t round_weight_ ABSL_GUARDED_BY(mu_) = 0;
};

// Every call goes to `target`, which the caller keeps and which must
// outlive this client.
class ForwardingPsClient : public PsClient {
 public:
  explicit ForwardingPsClient(PsClient* target) : target_(target) {}

  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                    SparseStep* sparse = nullptr) override {
    return target_->Pull(clock, tables, sparse);
  }
  absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                    const SparseStep* sparse = nullptr) override {
    return target_->Push(clock, gradients, sparse);
  }
  absl::Status PushPull(int64_t clock, const std::vector<std::vector<float>>& gradients,
                        std::vector<std::vector<float>>* next) override {
    return target_->PushPull(clock, gradients, next);
  }
  absl::Status Leave(int64_t clock) override { return target_->Leave(clock); }
  absl::Status PushRoundUpdate(int64_t round, const std::vector<std::vector<uint64_t>>& update,
                               uint64_t weight) override {
    return target_->PushRoundUpdate(round, update, weight);
  }

 private:
  PsClient* const target_;
};

}  // namespace petrel::worker

#endif  // PETREL_CLIENT_FAKE_PS_CLIENT_H_

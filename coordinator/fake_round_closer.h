// A RoundCloser for tests (testonly): records every close it is asked for
// and answers OK, or the status the test set for the next N calls.
#ifndef PETREL_COORDINATOR_FAKE_ROUND_CLOSER_H_
#define PETREL_COORDINATOR_FAKE_ROUND_CLOSER_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/round_closer.h"

namespace petrel::coordinator {

class FakeRoundCloser : public RoundCloser {
 public:
  struct Close {
    std::string server_id;
    std::string address;
    CloseRoundRequest request;
  };

  // The next `n` calls fail with `status` (and are still recorded).
  void FailNextCalls(int n, absl::Status status) {
    absl::MutexLock lock(&mu_);
    failures_left_ = n;
    failure_ = std::move(status);
  }

  std::vector<Close> closes() const {
    absl::MutexLock lock(&mu_);
    return closes_;
  }

  absl::Status CloseRound(const std::string& server_id, const std::string& address,
                          const CloseRoundRequest& close) override {
    absl::MutexLock lock(&mu_);
    closes_.push_back({server_id, address, close});
    if (failures_left_ == 0) return absl::OkStatus();
    --failures_left_;
    return failure_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<Close> closes_ ABSL_GUARDED_BY(mu_);
  int failures_left_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_FAKE_ROUND_CLOSER_H_

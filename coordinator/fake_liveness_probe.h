// A LivenessProbe for tests (testonly): each address answers as the test
// set it (by default as `answer_by_default`), and every probe is recorded.
#ifndef PETREL_COORDINATOR_FAKE_LIVENESS_PROBE_H_
#define PETREL_COORDINATOR_FAKE_LIVENESS_PROBE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "coordinator/liveness_probe.h"

namespace petrel::coordinator {

class FakeLivenessProbe : public LivenessProbe {
 public:
  struct Probe {
    std::string address;
    bool server;  // false: a worker's /healthz
    absl::Duration deadline;
  };

  explicit FakeLivenessProbe(bool answer_by_default = true)
      : answer_by_default_(answer_by_default) {}

  // Whether the node at `address` answers from now on.
  void SetAnswers(const std::string& address, bool answers) {
    absl::MutexLock lock(&mu_);
    answers_[address] = answers;
  }

  std::vector<Probe> probes() const {
    absl::MutexLock lock(&mu_);
    return probes_;
  }

  bool ServerAnswers(const std::string& grpc_address, absl::Duration deadline) override {
    return Answer({grpc_address, true, deadline});
  }
  bool WorkerAnswers(const std::string& http_address, absl::Duration deadline) override {
    return Answer({http_address, false, deadline});
  }

 private:
  bool Answer(Probe probe) {
    absl::MutexLock lock(&mu_);
    auto it = answers_.find(probe.address);
    probes_.push_back(std::move(probe));
    return it != answers_.end() ? it->second : answer_by_default_;
  }

  const bool answer_by_default_;
  mutable absl::Mutex mu_;
  std::map<std::string, bool> answers_ ABSL_GUARDED_BY(mu_);
  std::vector<Probe> probes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_FAKE_LIVENESS_PROBE_H_

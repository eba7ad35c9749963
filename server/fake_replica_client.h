// A ReplicaClient for tests: records every forwarded push (address and
// bytes) and every state-transfer chunk, and answers with what the test
// says. Forwards are answered at once with the status set by
// AnswerForwardsWith (OK at first), or, after HoldForwards, wait until the
// test calls ReplyForward. Chunks go to the handler set by
// set_install_handler (by default: UNAVAILABLE, "no replica").
#ifndef PETREL_SERVER_FAKE_REPLICA_CLIENT_H_
#define PETREL_SERVER_FAKE_REPLICA_CLIENT_H_

#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/replica_client.h"

namespace petrel::server {

class FakeReplicaClient : public ReplicaClient {
 public:
  struct Forwarded {
    std::string address;
    std::string bytes;  // the PushRequest as it went out
  };
  using InstallHandler = std::function<absl::StatusOr<InstallReplicaResponse>(
      const std::string& address, const InstallReplicaRequest& chunk)>;

  void ForwardPush(const std::string& address, const grpc::ByteBuffer& push,
                   Done done) override {
    std::optional<absl::Status> answer;
    {
      absl::MutexLock lock(&mu_);
      std::vector<grpc::Slice> slices;
      (void)push.Dump(&slices);
      std::string bytes;
      for (const grpc::Slice& slice : slices) {
        bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
      forwarded_.push_back({address, std::move(bytes)});
      if (hold_) {
        held_.push_back(std::move(done));
      } else {
        answer = forward_status_;
      }
    }
    if (answer.has_value()) done(*answer);
  }

  absl::StatusOr<InstallReplicaResponse> InstallReplica(
      const std::string& address, const InstallReplicaRequest& chunk) override {
    InstallHandler handler;
    {
      absl::MutexLock lock(&mu_);
      chunks_.emplace_back(address, chunk);
      handler = install_;
    }
    if (!handler) return absl::UnavailableError("no replica");
    return handler(address, chunk);
  }

  void AnswerForwardsWith(absl::Status status) {
    absl::MutexLock lock(&mu_);
    hold_ = false;
    forward_status_ = std::move(status);
  }
  void HoldForwards() {
    absl::MutexLock lock(&mu_);
    hold_ = true;
  }
  // Answers the oldest forward still waiting; false when none waits.
  bool ReplyForward(absl::Status status) {
    Done done;
    {
      absl::MutexLock lock(&mu_);
      if (held_.empty()) return false;
      done = std::move(held_.front());
      held_.pop_front();
    }
    done(std::move(status));
    return true;
  }
  void set_install_handler(InstallHandler handler) {
    absl::MutexLock lock(&mu_);
    install_ = std::move(handler);
  }

  std::vector<Forwarded> forwarded() const {
    absl::MutexLock lock(&mu_);
    return forwarded_;
  }
  std::vector<std::pair<std::string, InstallReplicaRequest>> chunks() const {
    absl::MutexLock lock(&mu_);
    return chunks_;
  }

 private:
  mutable absl::Mutex mu_;
  bool hold_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status forward_status_ ABSL_GUARDED_BY(mu_);
  std::deque<Done> held_ ABSL_GUARDED_BY(mu_);
  InstallHandler install_ ABSL_GUARDED_BY(mu_);
  std::vector<Forwarded> forwarded_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, InstallReplicaRequest>> chunks_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_FAKE_REPLICA_CLIENT_H_

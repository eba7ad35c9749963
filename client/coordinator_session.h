// A daemon's membership in the cluster: registers with the coordinator, then
// heartbeats on a thread of its own and hands each answer (the jobs this node
// takes part in) to the daemon. Registers again when the coordinator has
// forgotten the node (it restarted).
#ifndef PETREL_CLIENT_COORDINATOR_SESSION_H_
#define PETREL_CLIENT_COORDINATOR_SESSION_H_

#include <functional>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "client/coordinator_client.h"

namespace petrel {

class CoordinatorSession {
 public:
  struct Options {
    NodeRole role = SERVER;
    RegisterRequest registration;
    // Adds what this node reports to each heartbeat (optional).
    std::function<void(HeartbeatRequest*)> fill_heartbeat;
    // Called on the session's thread with every heartbeat answer.
    std::function<void(const HeartbeatResponse&)> on_heartbeat;
    // Called after each (re-)registration with the id the node was given.
    std::function<void(const std::string& node_id)> on_registered;
  };

  CoordinatorSession(CoordinatorClient* client, Options options);
  ~CoordinatorSession();  // stops heartbeating

  // Registers, retrying until `timeout` (the coordinator may still be
  // starting), then starts heartbeating.
  absl::Status Start(absl::Duration timeout);
  void Stop();
  // Sends the next heartbeat now instead of at the end of the interval (a
  // server that was asked about a newer shard map than it has).
  void HeartbeatNow();

  std::string node_id() const;

 private:
  absl::Status Register();
  void HeartbeatLoop();

  CoordinatorClient* const client_;
  const Options options_;
  absl::Notification stop_;
  std::thread thread_;

  mutable absl::Mutex mu_;
  std::string node_id_ ABSL_GUARDED_BY(mu_);
  absl::Duration interval_ ABSL_GUARDED_BY(mu_) = absl::Milliseconds(200);
  bool beat_now_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace petrel

#endif  // PETREL_CLIENT_COORDINATOR_SESSION_H_

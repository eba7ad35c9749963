// Who is in the cluster: servers and workers, the addresses they gave when
// they registered, and when each was last heard from. Not thread-safe: the
// CoordinatorService serialises access.
#ifndef PETREL_COORDINATOR_MEMBERSHIP_H_
#define PETREL_COORDINATOR_MEMBERSHIP_H_

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "proto/coordinator.pb.h"

namespace petrel::coordinator {

struct Node {
  std::string id;
  NodeRole role = SERVER;
  RegisterRequest info;
  absl::Time registered;
  absl::Time last_heartbeat;
};

class Membership {
 public:
  // Adds a node and returns its new id ("server-0", "worker-3", ...).
  std::string Register(NodeRole role, const RegisterRequest& info, absl::Time now);

  // Records a heartbeat; false when the node is unknown (it should register).
  bool Heartbeat(const std::string& id, absl::Time now);

  const Node* Find(const std::string& id) const;

  // Nodes of `role` heard from within `timeout`, in registration order.
  std::vector<const Node*> Alive(NodeRole role, absl::Time now, absl::Duration timeout) const;

  ClusterStatus Status(absl::Time now, absl::Duration timeout) const;

 private:
  int next_server_ = 0;
  int next_worker_ = 0;
  std::vector<Node> nodes_;  // registration order; nodes are never reused
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_MEMBERSHIP_H_

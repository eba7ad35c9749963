// Who is in the cluster: servers and workers, the addresses they gave when
// they registered, when each was last heard from, and which are dead. A node
// silent past the heartbeat timeout is only a suspect; the coordinator
// probes it and declares it dead when the probe fails too (MarkDead), so a
// slow node is not mistaken for a dead one. Not thread-safe: the
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
  bool dead = false;  // until it is heard from again
};

class Membership {
 public:
  // Adds a node and returns its new id ("server-0", "worker-3", ...); a node
  // that names the id it had (info.previous_node_id) and is known in that
  // role gets it back.
  std::string Register(NodeRole role, const RegisterRequest& info, absl::Time now);

  // Records a heartbeat; false when the node is unknown (it should register).
  bool Heartbeat(const std::string& id, absl::Time now);

  const Node* Find(const std::string& id) const;

  // Nodes of `role` not declared dead, in registration order.
  std::vector<const Node*> Alive(NodeRole role) const;
  // Nodes not declared dead but silent for longer than `timeout`.
  std::vector<const Node*> Suspects(absl::Time now, absl::Duration timeout) const;
  void MarkDead(const std::string& id);

  ClusterStatus Status(absl::Time now) const;

  // For the coordinator's state directory. Loaded nodes count as heard from
  // at `now`, so that they have a heartbeat timeout to come back.
  void Save(CoordinatorState* state) const;
  void Load(const CoordinatorState& state, absl::Time now);

 private:
  int next_server_ = 0;
  int next_worker_ = 0;
  std::vector<Node> nodes_;  // registration order; nodes are never reused
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_MEMBERSHIP_H_

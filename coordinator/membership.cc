#include "coordinator/membership.h"

#include "absl/strings/str_cat.h"

namespace petrel::coordinator {

std::string Membership::Register(NodeRole role, const RegisterRequest& info, absl::Time now) {
  Node node;
  node.role = role;
  node.id = role == SERVER ? absl::StrCat("server-", next_server_++)
                           : absl::StrCat("worker-", next_worker_++);
  node.info = info;
  node.registered = now;
  node.last_heartbeat = now;
  nodes_.push_back(node);
  return node.id;
}

bool Membership::Heartbeat(const std::string& id, absl::Time now) {
  for (Node& node : nodes_) {
    if (node.id == id) {
      node.last_heartbeat = now;
      return true;
    }
  }
  return false;
}

const Node* Membership::Find(const std::string& id) const {
  for (const Node& node : nodes_) {
    if (node.id == id) return &node;
  }
  return nullptr;
}

std::vector<const Node*> Membership::Alive(NodeRole role, absl::Time now,
                                           absl::Duration timeout) const {
  std::vector<const Node*> alive;
  for (const Node& node : nodes_) {
    if (node.role == role && now - node.last_heartbeat <= timeout) alive.push_back(&node);
  }
  return alive;
}

ClusterStatus Membership::Status(absl::Time now, absl::Duration timeout) const {
  ClusterStatus status;
  for (const Node& node : nodes_) {
    NodeStatus* out = status.add_nodes();
    out->set_node_id(node.id);
    out->set_role(node.role);
    out->set_host(node.info.host());
    out->set_grpc_address(node.info.grpc_address());
    out->set_http_address(node.info.http_address());
    out->set_device(node.info.device());
    out->set_seconds_since_heartbeat(absl::ToDoubleSeconds(now - node.last_heartbeat));
    out->set_alive(now - node.last_heartbeat <= timeout);
  }
  return status;
}

}  // namespace petrel::coordinator

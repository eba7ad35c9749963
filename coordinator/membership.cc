#include "coordinator/membership.h"

#include "absl/strings/str_cat.h"

namespace petrel::coordinator {

std::string Membership::Register(NodeRole role, const RegisterRequest& info, absl::Time now) {
  for (Node& node : nodes_) {
    if (!info.previous_node_id().empty() && node.id == info.previous_node_id() &&
        node.role == role) {
      node.info = info;
      node.last_heartbeat = now;
      node.dead = false;
      return node.id;
    }
  }
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
      node.dead = false;
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

std::vector<const Node*> Membership::Alive(NodeRole role) const {
  std::vector<const Node*> alive;
  for (const Node& node : nodes_) {
    if (node.role == role && !node.dead) alive.push_back(&node);
  }
  return alive;
}

std::vector<const Node*> Membership::Suspects(absl::Time now, absl::Duration timeout) const {
  std::vector<const Node*> suspects;
  for (const Node& node : nodes_) {
    if (!node.dead && now - node.last_heartbeat > timeout) suspects.push_back(&node);
  }
  return suspects;
}

void Membership::MarkDead(const std::string& id) {
  for (Node& node : nodes_) {
    if (node.id == id) node.dead = true;
  }
}

ClusterStatus Membership::Status(absl::Time now) const {
  ClusterStatus status;
  for (const Node& node : nodes_) {
    NodeStatus* out = status.add_nodes();
    out->set_node_id(node.id);
    out->set_role(node.role);
    out->set_host(node.info.host());
    out->set_grpc_address(node.info.grpc_address());
    out->set_http_address(node.info.http_address());
    out->set_device(node.info.device());
    *out->mutable_devices() = node.info.devices();
    out->set_seconds_since_heartbeat(absl::ToDoubleSeconds(now - node.last_heartbeat));
    out->set_alive(!node.dead);
  }
  return status;
}

void Membership::Save(CoordinatorState* state) const {
  state->set_next_server(next_server_);
  state->set_next_worker(next_worker_);
  for (const Node& node : nodes_) {
    if (node.dead) continue;  // a dead node that comes back registers anew
    NodeRecord* record = state->add_nodes();
    record->set_id(node.id);
    record->set_role(node.role);
    *record->mutable_info() = node.info;
  }
}

void Membership::Load(const CoordinatorState& state, absl::Time now) {
  next_server_ = state.next_server();
  next_worker_ = state.next_worker();
  nodes_.clear();
  for (const NodeRecord& record : state.nodes()) {
    Node node;
    node.id = record.id();
    node.role = record.role();
    node.info = record.info();
    node.registered = now;
    node.last_heartbeat = now;
    nodes_.push_back(std::move(node));
  }
}

}  // namespace petrel::coordinator

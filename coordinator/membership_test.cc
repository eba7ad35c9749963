// Membership: the ids nodes get, heartbeats, who is suspect after the
// timeout, who is dead, and a node that registers again after a restart.
// Time is the `now` each call takes, so no clock is needed.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "coordinator/membership.h"

namespace petrel::coordinator {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);
const absl::Duration kTimeout = absl::Seconds(1);

RegisterRequest Info(const std::string& address, const std::string& previous_id = "") {
  RegisterRequest info;
  info.set_host("host-a");
  info.set_grpc_address(address);
  info.set_previous_node_id(previous_id);
  return info;
}

std::vector<std::string> Ids(const std::vector<const Node*>& nodes) {
  std::vector<std::string> ids;
  for (const Node* node : nodes) ids.push_back(node->id);
  return ids;
}

using Names = std::vector<std::string>;

TEST_CASE("servers and workers are numbered apart, in registration order") {
  Membership membership;
  CHECK(membership.Register(SERVER, Info("s:1"), kT0) == "server-0");
  CHECK(membership.Register(WORKER, Info("w:1"), kT0) == "worker-0");
  CHECK(membership.Register(SERVER, Info("s:2"), kT0) == "server-1");
  CHECK(membership.Register(WORKER, Info("w:2"), kT0) == "worker-1");
  CHECK(Ids(membership.Alive(SERVER)) == Names{"server-0", "server-1"});
  CHECK(Ids(membership.Alive(WORKER)) == Names{"worker-0", "worker-1"});
  const Node* node = membership.Find("server-1");
  REQUIRE(node != nullptr);
  CHECK(node->role == SERVER);
  CHECK(node->info.grpc_address() == "s:2");
  CHECK(membership.Find("server-7") == nullptr);
}

TEST_CASE("a node silent past the timeout is a suspect; a heartbeat clears it") {
  Membership membership;
  membership.Register(SERVER, Info("s:1"), kT0);
  membership.Register(SERVER, Info("s:2"), kT0);
  // Exactly the timeout is not yet past it.
  CHECK(membership.Suspects(kT0 + kTimeout, kTimeout).empty());
  REQUIRE(membership.Heartbeat("server-1", kT0 + absl::Milliseconds(900)));
  CHECK(Ids(membership.Suspects(kT0 + absl::Milliseconds(1500), kTimeout)) == Names{"server-0"});
  // A suspect is still alive: only MarkDead (after a failed probe) kills it.
  CHECK(membership.Alive(SERVER).size() == 2);
  REQUIRE(membership.Heartbeat("server-0", kT0 + absl::Milliseconds(1600)));
  CHECK(membership.Suspects(kT0 + absl::Milliseconds(1700), kTimeout).empty());
}

TEST_CASE("a heartbeat from an unknown node is refused and adds nobody") {
  Membership membership;
  membership.Register(WORKER, Info("w:1"), kT0);
  CHECK_FALSE(membership.Heartbeat("worker-9", kT0));
  CHECK(membership.Status(kT0).nodes_size() == 1);
}

TEST_CASE("a dead node is out of Alive and Suspects until it is heard again") {
  Membership membership;
  membership.Register(SERVER, Info("s:1"), kT0);
  membership.Register(SERVER, Info("s:2"), kT0);
  membership.MarkDead("server-0");
  CHECK(Ids(membership.Alive(SERVER)) == Names{"server-1"});
  CHECK(Ids(membership.Suspects(kT0 + absl::Seconds(5), kTimeout)) == Names{"server-1"});
  const ClusterStatus status = membership.Status(kT0 + absl::Seconds(2));
  REQUIRE(status.nodes_size() == 2);
  CHECK_FALSE(status.nodes(0).alive());
  CHECK(status.nodes(0).seconds_since_heartbeat() == 2.0);
  CHECK(status.nodes(1).alive());
  // A heartbeat from a node declared dead (it was only slow) revives it.
  REQUIRE(membership.Heartbeat("server-0", kT0 + absl::Seconds(3)));
  CHECK(Ids(membership.Alive(SERVER)) == Names{"server-0", "server-1"});
}

TEST_CASE("a node that names its previous id gets it back, with its new address") {
  Membership membership;
  membership.Register(SERVER, Info("s:1"), kT0);
  membership.Register(WORKER, Info("w:1"), kT0);
  membership.MarkDead("server-0");
  CHECK(membership.Register(SERVER, Info("s:9", "server-0"), kT0 + absl::Seconds(4)) ==
        "server-0");
  const Node* node = membership.Find("server-0");
  REQUIRE(node != nullptr);
  CHECK_FALSE(node->dead);
  CHECK(node->info.grpc_address() == "s:9");
  CHECK(node->last_heartbeat == kT0 + absl::Seconds(4));
  CHECK(node->registered == kT0);  // the same node, not a new one
  CHECK(membership.Status(kT0).nodes_size() == 2);
}

TEST_CASE("a previous id of another role or unknown gets a new id") {
  Membership membership;
  membership.Register(SERVER, Info("s:1"), kT0);
  // worker-0 is no server, and server-5 was never given out.
  CHECK(membership.Register(WORKER, Info("w:1", "server-0"), kT0) == "worker-0");
  CHECK(membership.Register(SERVER, Info("s:2", "server-5"), kT0) == "server-1");
  CHECK(membership.Find("server-5") == nullptr);
}

TEST_CASE("save and load keep the live nodes and the next ids; the dead are dropped") {
  Membership before;
  before.Register(SERVER, Info("s:1"), kT0);
  before.Register(SERVER, Info("s:2"), kT0);
  before.Register(WORKER, Info("w:1"), kT0);
  before.MarkDead("server-0");
  CoordinatorState state;
  before.Save(&state);
  CHECK(state.next_server() == 2);
  CHECK(state.next_worker() == 1);
  CHECK(state.nodes_size() == 2);

  Membership after;
  const absl::Time restart = kT0 + absl::Seconds(30);
  after.Load(state, restart);
  CHECK(Ids(after.Alive(SERVER)) == Names{"server-1"});
  CHECK(Ids(after.Alive(WORKER)) == Names{"worker-0"});
  CHECK(after.Find("server-1")->info.grpc_address() == "s:2");
  // Loaded nodes count as heard from at the restart: a timeout to come back.
  CHECK(after.Suspects(restart + kTimeout, kTimeout).empty());
  CHECK(after.Suspects(restart + absl::Seconds(2), kTimeout).size() == 2);
  // Ids are not reused: the dead server-0 that comes back is a new node.
  CHECK(after.Register(SERVER, Info("s:1", "server-0"), restart) == "server-2");
}

}  // namespace
}  // namespace petrel::coordinator

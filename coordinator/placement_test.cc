// Placement: which server heads and backs up which shard group, that the
// same input gives the same map, that no servers is refused, and how chains
// change when servers die, are added and finish their state transfer.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/jobspec/model_tables.h"
#include "coordinator/placement.h"

namespace petrel::coordinator {
namespace {

using Names = std::vector<std::string>;

JobSpec Softmax(int servers, int replication) {
  JobSpec spec;
  spec.mutable_model()->set_type("softmax");
  spec.mutable_model()->set_input_dim(784);
  spec.mutable_model()->set_num_classes(10);
  spec.mutable_cluster()->set_servers(servers);
  spec.mutable_cluster()->set_replication(replication);
  return spec;
}

std::vector<ServerEndpoint> Servers(int n, int first = 0) {
  std::vector<ServerEndpoint> servers;
  for (int i = first; i < first + n; ++i) {
    servers.push_back({absl::StrCat("server-", i), absl::StrCat("127.0.0.1:", 9000 + i)});
  }
  return servers;
}

Names Chain(const ShardMap& map, int group) {
  return {map.groups(group).servers().begin(), map.groups(group).servers().end()};
}

ShardMap Place(int servers, int replication) {
  absl::StatusOr<ShardMap> map = PlaceJob("job-1", Softmax(servers, replication), Servers(servers));
  REQUIRE(map.ok());
  return *map;
}

TEST_CASE("each server heads one group and backs up the next replication-1, wrapping") {
  const ShardMap map = Place(3, 2);
  CHECK(map.job_id() == "job-1");
  CHECK(map.epoch() == 1);
  REQUIRE(map.groups_size() == 3);
  CHECK(Chain(map, 0) == Names{"server-0", "server-1"});
  CHECK(Chain(map, 1) == Names{"server-1", "server-2"});
  CHECK(Chain(map, 2) == Names{"server-2", "server-0"});
  for (const ShardGroup& group : map.groups()) {
    CHECK(group.ready() == 2);  // a new job's replicas all hold its (initial) state
    CHECK(group.addresses(0) == absl::StrCat("127.0.0.1:", 9000 + group.id()));
  }
  CHECK(ServersOf(map) == std::set<std::string>{"server-0", "server-1", "server-2"});
}

TEST_CASE("every range names its group's primary and the tables are covered exactly") {
  const ShardMap map = Place(3, 2);
  std::map<std::string, int64_t> covered;
  for (const ShardRange& range : map.ranges()) {
    REQUIRE(range.group() >= 0);
    REQUIRE(range.group() < map.groups_size());
    CHECK(range.server_id() == map.groups(range.group()).servers(0));
    CHECK(range.begin() == covered[range.table()]);  // contiguous, in order
    covered[range.table()] = range.end();
  }
  REQUIRE(map.tables_size() == 2);
  for (const DenseTable& table : map.tables()) CHECK(covered[table.name()] == TableSize(table));
}

TEST_CASE("replication is capped by the servers there are, and at least 1") {
  CHECK(Chain(Place(2, 5), 0) == Names{"server-0", "server-1"});
  CHECK(Chain(Place(2, 0), 1) == Names{"server-1"});
}

TEST_CASE("the same job on the same servers gives the same map, byte for byte") {
  CHECK(Place(4, 3).SerializeAsString() == Place(4, 3).SerializeAsString());
  CHECK(Place(4, 3).SerializeAsString() != Place(4, 2).SerializeAsString());
}

TEST_CASE("a job with no servers is refused") {
  absl::StatusOr<ShardMap> map = PlaceJob("job-1", Softmax(1, 1), {});
  REQUIRE_FALSE(map.ok());
  CHECK(map.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(map.status().message() == "cannot place tables: no servers");
}

TEST_CASE("a dead primary's backup heads its group and the ranges follow") {
  ShardMap map = Place(3, 2);
  const ChainChange change = RemoveServers({"server-1"}, &map);
  CHECK(change.changed);
  CHECK(change.lost_groups.empty());
  CHECK(change.promotions == Names{"server-2 now heads group 1 (server-1 died)"});
  CHECK(map.epoch() == 2);
  CHECK(Chain(map, 0) == Names{"server-0"});
  CHECK(Chain(map, 1) == Names{"server-2"});
  CHECK(Chain(map, 2) == Names{"server-2", "server-0"});
  for (const ShardRange& range : map.ranges()) {
    CHECK(range.server_id() == map.groups(range.group()).servers(0));
    CHECK(range.server_address() == map.groups(range.group()).addresses(0));
  }
}

TEST_CASE("servers that hold nothing of the job change nothing, not even the epoch") {
  ShardMap map = Place(2, 1);
  const std::string before = map.SerializeAsString();
  const ChainChange change = RemoveServers({"server-7", "worker-0"}, &map);
  CHECK_FALSE(change.changed);
  CHECK(map.SerializeAsString() == before);
}

TEST_CASE("a group whose every replica died is lost") {
  ShardMap map = Place(2, 1);
  const ChainChange change = RemoveServers({"server-0"}, &map);
  CHECK(change.lost_groups == std::vector<int>{0});
  CHECK(change.promotions.empty());
}

TEST_CASE("a chain repaired onto the least loaded server; ready once installed") {
  ShardMap map = Place(2, 2);
  RemoveServers({"server-0"}, &map);  // both chains are now [server-1]
  const int64_t epoch = map.epoch();
  std::vector<std::string> added;
  // server-1 is in every chain already; server-2 is new.
  std::vector<ServerEndpoint> alive = {Servers(1, 1)[0], Servers(1, 2)[0]};
  CHECK(RepairChains(alive, 2, &map, &added) == 2);
  CHECK(added == Names{"server-2 joins group 0 (state from server-1)",
                       "server-2 joins group 1 (state from server-1)"});
  CHECK(map.epoch() == epoch + 1);
  CHECK(Chain(map, 0) == Names{"server-1", "server-2"});
  CHECK(map.groups(0).ready() == 1);  // server-2 is still being rebuilt

  // A rebuilding server cannot be promoted: if server-1 dies now, both
  // groups are lost although server-2 is in their chains.
  ShardMap lost = map;
  CHECK(RemoveServers({"server-1"}, &lost).lost_groups == std::vector<int>{0, 1});

  // Nothing more to repair: the chains are as long as the replication.
  CHECK(RepairChains(alive, 2, &map, &added) == 0);

  CHECK_FALSE(MarkInstalled("server-1", 0, &map));  // already counted
  CHECK_FALSE(MarkInstalled("server-2", 5, &map));  // no such group
  CHECK(MarkInstalled("server-2", 0, &map));
  CHECK(map.groups(0).ready() == 2);
  CHECK(map.epoch() == epoch + 2);
  CHECK_FALSE(MarkInstalled("server-2", 0, &map));  // twice is once
  CHECK(map.epoch() == epoch + 2);
}

TEST_CASE("with no alive server outside the chain, nothing is repaired") {
  ShardMap map = Place(2, 2);
  RemoveServers({"server-0"}, &map);
  const std::string before = map.SerializeAsString();
  std::vector<std::string> added;
  CHECK(RepairChains(Servers(1, 1), 2, &map, &added) == 0);
  CHECK(added.empty());
  CHECK(map.SerializeAsString() == before);
}

}  // namespace
}  // namespace petrel::coordinator

// ReroutingPsClient on fakes: which errors make it fetch the shard map again
// and retry on a client of the new map, and which it hands back at once.
#define CATCH_CONFIG_MAIN
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "catch2/catch.hpp"
#include "client/fake_coordinator_client.h"
#include "common/rpc/shard_map_epoch.h"
#include "client/fake_ps_client.h"
#include "client/rerouting_ps_client.h"

namespace petrel::worker {
namespace {

using Kind = FakePsClient::Kind;

ShardMap Map(int64_t epoch, int64_t attempt = 0) {
  ShardMap map;
  map.set_job_id("job-1");
  map.set_epoch(epoch);
  map.set_attempt(attempt);
  return map;
}

// Servers as placed under epoch 1 and under epoch 2, a coordinator that
// gives out epoch 2, and a ReroutingPsClient that starts on epoch 1.
struct Fixture {
  FakePsClient before{{{1.0f, 2.0f}}};
  FakePsClient after{{{3.0f, 4.0f}}};
  FakeCoordinatorClient coordinator;
  std::vector<int64_t> clients_made;  // the epoch of each inner client
  std::vector<std::string> unreachable;
  std::unique_ptr<ReroutingPsClient> client;

  Fixture() {
    coordinator.SetShardMap("job-1", Map(2));
    ReroutingOptions rerouting;
    rerouting.fetch_map = [this] { return coordinator.GetShardMap("job-1"); };
    rerouting.report_unreachable = [this](const std::string& error) {
      unreachable.push_back(error);
    };
    rerouting.give_up_after = absl::Seconds(5);
    rerouting.make_client = [this](const ShardMap& map, const PsClientOptions&) {
      clients_made.push_back(map.epoch());
      return std::make_unique<ForwardingPsClient>(map.epoch() == 1 ? &before : &after);
    };
    PsClientOptions options;
    options.job_id = "job-1";
    client = std::make_unique<ReroutingPsClient>(Map(1), options, std::move(rerouting));
  }
};

TEST_CASE("NOT_HELD refreshes the shard map and retries on the new placement") {
  Fixture f;
  f.before.FailNextCalls(100, NotHeldError("group 0 of job job-1 is not held by server-0"));
  std::vector<std::vector<float>> tables;
  REQUIRE(f.client->Pull(0, &tables, nullptr).ok());
  CHECK(tables == std::vector<std::vector<float>>{{3.0f, 4.0f}});  // the new servers' values
  CHECK(f.client->epoch() == 2);
  CHECK(f.clients_made == std::vector<int64_t>{1, 2});
  CHECK(f.coordinator.shard_map_calls() == 1);
  CHECK(f.before.calls().size() == 1);
  CHECK(f.after.Clocks(Kind::kPull) == std::vector<int64_t>{0});
  // The server answered, so nobody is reported unreachable.
  CHECK(f.unreachable.empty());
}

TEST_CASE("a stale shard map refreshes the map and retries the push once there") {
  Fixture f;
  f.before.FailNextCalls(100, StaleShardMapError("epoch 1 is older than server-0's 2"));
  REQUIRE(f.client->Push(7, {{0.5f, 0.5f}}, nullptr).ok());
  CHECK(f.client->epoch() == 2);
  CHECK(f.after.Clocks(Kind::kPush) == std::vector<int64_t>{7});
  CHECK(f.before.Clocks(Kind::kPush).empty());
}

TEST_CASE("an unreachable server is reported to the coordinator once, then rerouted") {
  Fixture f;
  f.before.FailNextCalls(100, absl::UnavailableError("connection refused"));
  REQUIRE(f.client->Leave(3).ok());
  CHECK(f.unreachable == std::vector<std::string>{"connection refused"});
  CHECK(f.after.Clocks(Kind::kLeave) == std::vector<int64_t>{3});
}

TEST_CASE("a map of the same epoch keeps the client and retries until the server answers") {
  Fixture f;
  f.coordinator.SetShardMap("job-1", Map(1));
  f.before.FailNextCalls(2, StaleShardMapError("server-0 is behind"));
  std::vector<std::vector<float>> tables;
  REQUIRE(f.client->Pull(0, &tables, nullptr).ok());
  CHECK(tables == std::vector<std::vector<float>>{{1.0f, 2.0f}});
  CHECK(f.clients_made == std::vector<int64_t>{1});
  CHECK(f.coordinator.shard_map_calls() == 2);
  CHECK(f.before.calls().size() == 3);
}

TEST_CASE("other errors are returned at once, without a map refresh") {
  Fixture f;
  const absl::Status refusal = GENERATE(
      absl::InvalidArgumentError("gradient of the wrong size"),
      absl::InternalError("the server broke"),
      // The words alone no longer reroute: only the reason does.
      absl::NotFoundError("group 0 of job job-1 is not held by server-0"));
  f.before.FailNextCalls(1, refusal);
  std::vector<std::vector<float>> tables;
  CHECK(f.client->Pull(0, &tables, nullptr) == refusal);
  CHECK(f.coordinator.shard_map_calls() == 0);
  CHECK(f.clients_made == std::vector<int64_t>{1});
  CHECK(f.after.calls().empty());
}

TEST_CASE("a job restarted from a checkpoint stops this attempt's trainer") {
  Fixture f;
  f.coordinator.SetShardMap("job-1", Map(2, /*attempt=*/1));
  f.before.FailNextCalls(100, NotHeldError("group 0 of job job-1 is not held by server-0"));
  std::vector<std::vector<float>> tables;
  const absl::Status status = f.client->Pull(0, &tables, nullptr);
  CHECK(absl::IsAborted(status));
  CHECK(f.after.calls().empty());
}

TEST_CASE("a job gone from the coordinator ends the retries with its error") {
  Fixture f;
  f.coordinator.FailNextCalls(1, absl::FailedPreconditionError("job job-1 is not running"));
  f.before.FailNextCalls(100, NotHeldError("group 0 of job job-1 is not held by server-0"));
  std::vector<std::vector<float>> tables;
  CHECK(absl::IsFailedPrecondition(f.client->Pull(0, &tables, nullptr)));
  CHECK(f.clients_made == std::vector<int64_t>{1});
}

TEST_CASE("NeedsReroute goes by code and reason") {
  CHECK(NeedsReroute(absl::UnavailableError("x")));
  CHECK(NeedsReroute(absl::DeadlineExceededError("x")));
  CHECK(NeedsReroute(NotHeldError("x")));
  CHECK(NeedsReroute(StaleShardMapError("x")));
  CHECK_FALSE(NeedsReroute(absl::NotFoundError("x is not held by y")));
  CHECK_FALSE(NeedsReroute(absl::FailedPreconditionError("x")));
  CHECK_FALSE(NeedsReroute(absl::OkStatus()));
}

}  // namespace
}  // namespace petrel::worker

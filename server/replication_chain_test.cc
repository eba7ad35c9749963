#define CATCH_CONFIG_MAIN
#include "server/replication_chain.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "catch2/catch.hpp"
#include "common/sha256.h"
#include "proto/checkpoint.pb.h"
#include "server/replica_transfer.h"

namespace petrel::server {
namespace {

// Group 0's chain `servers` (addresses "ID:1"), the first `ready` up to date.
ShardMap Map(int64_t epoch, std::vector<std::string> servers, int ready) {
  ShardMap map;
  map.set_epoch(epoch);
  ShardGroup* group = map.add_groups();
  group->set_id(0);
  for (const std::string& server : servers) {
    group->add_servers(server);
    group->add_addresses(server + ":1");
  }
  group->set_ready(ready);
  return map;
}

TEST_CASE("a server in the chain's ready part holds the state; one added later awaits it") {
  ReplicationChain primary("job-1", "s0", 0);
  primary.Init(Map(1, {"s0", "s1"}, 1));
  CHECK_FALSE(primary.awaiting_state());
  CHECK(primary.primary());
  CHECK(primary.Position() == 0);

  ReplicationChain joiner("job-1", "s1", 0);
  joiner.Init(Map(1, {"s0", "s1"}, 1));
  CHECK(joiner.awaiting_state());
  CHECK_FALSE(joiner.primary());
  const absl::Status rebuilding = joiner.RebuildingError();
  CHECK(absl::IsUnavailable(rebuilding));
  CHECK(absl::StrContains(rebuilding.message(), "s1 is being rebuilt as a replica of group 0"));
}

TEST_CASE("a request's epoch: none or this one passes, an older one is stale, a newer one waits") {
  ReplicationChain chain("job-1", "s0", 0);
  chain.Init(Map(3, {"s0"}, 1));
  CHECK(chain.CheckEpoch(0).ok());
  CHECK(chain.CheckEpoch(3).ok());
  const absl::Status older = chain.CheckEpoch(2);
  CHECK(absl::IsFailedPrecondition(older));
  CHECK(absl::StrContains(older.message(), "refresh the shard map"));
  CHECK(absl::IsUnavailable(chain.CheckEpoch(4)));
  CHECK_FALSE(chain.Follow(Map(3, {"s0", "s1"}, 2)));  // the same epoch changes nothing
  CHECK(chain.servers().size() == 1);
  CHECK(chain.Follow(Map(4, {"s0", "s1"}, 2)));
  CHECK(chain.CheckEpoch(4).ok());
  CHECK(chain.servers().size() == 2);
}

TEST_CASE("pushes go on to the next server once it holds the state") {
  ReplicationChain chain("job-1", "s0", 0);
  chain.Init(Map(1, {"s0", "s1"}, 2));
  CHECK(chain.NextForPush() == "s1:1");
  CHECK(chain.DueTransfer() == -1);  // s1 holds the state already

  ReplicationChain rebuilding("job-1", "s0", 0);
  rebuilding.Init(Map(1, {"s0", "s1", "s2"}, 1));
  CHECK(rebuilding.NextForPush().empty());
  REQUIRE(rebuilding.DueTransfer() == 1);
  CHECK(rebuilding.server(1) == "s1");
  CHECK(rebuilding.address(1) == "s1:1");
  rebuilding.StateSent("s1");
  CHECK(rebuilding.NextForPush() == "s1:1");
  CHECK(rebuilding.DueTransfer() == -1);
  CHECK(rebuilding.sent().count("s1") == 1);

  ReplicationChain tail("job-1", "s1", 0);
  tail.Init(Map(1, {"s0", "s1"}, 2));
  CHECK(tail.NextForPush().empty());
  CHECK(tail.DueTransfer() == -1);
}

TEST_CASE("a backup that comes to head the chain notes when, and its first push") {
  ReplicationChain chain("job-1", "s1", 0);
  chain.Init(Map(1, {"s0", "s1"}, 2));
  chain.PushTaken();
  CHECK(chain.promoted() == absl::InfinitePast());
  CHECK(chain.first_push_as_primary() == absl::InfinitePast());
  REQUIRE(chain.Follow(Map(2, {"s1"}, 1)));
  CHECK(chain.primary());
  CHECK(chain.promoted() != absl::InfinitePast());
  chain.PushTaken();
  const absl::Time first = chain.first_push_as_primary();
  CHECK(first >= chain.promoted());
  chain.PushTaken();
  CHECK(chain.first_push_as_primary() == first);  // the first only
}

TEST_CASE("a transfer in chunks yields the state once; a repeat is answered as installed") {
  ReplicationChain chain("job-1", "s1", 0);
  chain.Init(Map(1, {"s0", "s1"}, 1));
  ReplicaState state;
  state.set_next_cut(42);
  for (int i = 0; i < 20; ++i) state.add_held_pushes(std::string(10, static_cast<char>('a' + i)));
  const std::string bytes = state.SerializeAsString();
  InstallReplicaRequest header;
  header.set_job_id("job-1");
  const std::string sha = Sha256(bytes);
  std::optional<ReplicationChain::Chunk> last;
  for (int64_t offset = 0; offset < static_cast<int64_t>(bytes.size()); offset += 50) {
    absl::StatusOr<ReplicationChain::Chunk> taken =
        chain.TakeChunk(MakeReplicaChunk(header, "t-1", bytes, sha, offset, 50));
    REQUIRE(taken.ok());
    CHECK(taken->response.held_bytes() ==
          std::min<int64_t>(offset + 50, static_cast<int64_t>(bytes.size())));
    if (offset + 50 < static_cast<int64_t>(bytes.size())) CHECK_FALSE(taken->state.has_value());
    last = std::move(*taken);
  }
  REQUIRE(last->state.has_value());
  CHECK(last->state->next_cut() == 42);
  CHECK(last->transfer == "t-1");
  CHECK(last->total == static_cast<int64_t>(bytes.size()));
  chain.StateInstalled();
  chain.TransferInstalled(*last);
  CHECK_FALSE(chain.awaiting_state());

  // The sender lost the last answer and asks again.
  absl::StatusOr<ReplicationChain::Chunk> repeat =
      chain.TakeChunk(MakeReplicaChunk(header, "t-1", bytes, sha, 0, 50));
  REQUIRE(repeat.ok());
  CHECK(repeat->response.installed());
  CHECK_FALSE(repeat->state.has_value());

  // Once the map counts this server as holding the group, chunks are refused.
  REQUIRE(chain.Follow(Map(2, {"s0", "s1"}, 2)));
  absl::StatusOr<ReplicationChain::Chunk> refused =
      chain.TakeChunk(MakeReplicaChunk(header, "t-2", bytes, sha, 0, 50));
  CHECK(absl::IsFailedPrecondition(refused.status()));
  CHECK(absl::StrContains(refused.status().message(), "awaits no state transfer"));
}

}  // namespace
}  // namespace petrel::server

// Rebuilding a replica over real gRPC when the group's state is several
// times the largest gRPC message (kMaxMessageBytes, 64 MiB): two servers
// (ShardStore, ParameterService and its gRPC adapter on 127.0.0.1, port 0)
// hold one group of an Adam job, the second still being rebuilt. The
// primary's state transfer (ParameterService::RunDueTransfers, as the
// server daemon's rebuilder thread runs it) must give the replica the
// primary's parameters, optimizer state, sparse rows and clocks bit for
// bit; pushes forwarded afterwards keep the two equal.
#define CATCH_CONFIG_MAIN
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "common/rpc/rpc.h"
#include "proto/checkpoint.pb.h"
#include "server/grpc_parameter_service.h"
#include "server/grpc_replica_client.h"
#include "server/parameter_service.h"
#include "server/replica_test_job.h"
#include "server/shard_store.h"

namespace petrel::server {
namespace {

constexpr char kJob[] = "big-job";
// 4096 x 4096 parameters with Adam (two state floats each): 192 MiB of
// dense state, three times the message cap.
constexpr int64_t kSide = 4096;
constexpr int64_t kBias = 1000;
constexpr int kDim = 8;
constexpr int kRows = 5000;

// One petrel-server's parameter service, without the coordinator session.
struct Node {
  explicit Node(const std::string& id) : store(id) {
    auto started = StartGrpcServer(LoadedTransportSecurity(), "127.0.0.1", 0, {&grpc});
    REQUIRE(started.ok());
    server = std::move(*started);
    address = absl::StrCat("127.0.0.1:", server.port);
  }
  ~Node() {
    store.CloseAll(absl::UnavailableError("test over"));
    server.server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
  }
  ShardStore store;
  SecuredChannelFactory channels;  // plaintext, as the test's servers
  GrpcReplicaClient replicas{channels};
  ParameterService service{&store, &replicas};
  GrpcParameterService grpc{&service};
  StartedGrpcServer server;
  std::string address;
};

// One group, chain [server-0, server-1]; server-1 joined and awaits the
// state (ready 1). BSP with one worker: each push is applied at once.
JobAssignment Assignment(const Node& primary, const Node& replica) {
  ReplicaTestJob job;
  job.job_id = kJob;
  job.rows = kSide;
  job.cols = kSide;
  job.bias = kBias;
  job.dim = kDim;
  job.workers = 1;
  job.seed = 11;
  job.primary_address = primary.address;
  job.replica_address = replica.address;
  return ReplicaTestAssignment(job);
}

Slice MakeSlice(const std::string& table, int64_t begin, int64_t end) {
  Slice slice;
  slice.set_table(table);
  slice.set_begin(begin);
  slice.set_end(end);
  return slice;
}

std::string Keys(int n) {
  std::string keys;
  for (uint64_t k = 1; k <= static_cast<uint64_t>(n); ++k) {
    const uint64_t key = k * 7919;
    keys.append(reinterpret_cast<const char*>(&key), sizeof(key));
  }
  return keys;
}

// Worker-0's push for `clock`: every parameter of the group, gradients that
// differ per element and per clock (so Adam's moments are all different).
PushRequest WholePush(int64_t clock) {
  PushRequest push;
  push.set_job_id(kJob);
  push.set_worker_id("worker-0");
  push.set_clock(clock);
  auto add = [&](const std::string& table, int64_t size) {
    *push.add_slices() = MakeSlice(table, 0, size);
    std::vector<float> gradient(size);
    for (int64_t i = 0; i < size; ++i) {
      gradient[i] = static_cast<float>(std::sin(0.001 * i + clock) * 0.01);
    }
    FloatsToBytes(gradient, push.add_gradients());
  };
  add("w", kSide * kSide);
  add("b", kBias);
  SparseSlice* sparse = push.add_sparse();
  sparse->set_table("emb");
  sparse->set_keys(Keys(kRows));
  std::vector<float> gradient(kRows * kDim);
  for (size_t i = 0; i < gradient.size(); ++i) gradient[i] = 0.001f * ((i + clock) % 17);
  FloatsToBytes(gradient, push.add_sparse_gradients());
  return push;
}

// What must be equal on every replica: each range's values and optimizer
// state, each sparse row with its state (by key), and the workers' clocks.
struct Held {
  std::map<std::string, std::string> dense;
  std::map<uint64_t, std::string> rows;
  std::vector<std::string> clocks;
  int64_t bytes = 0;
};

Held HeldBy(const JobShards& shards) {
  const ShardCheckpoint snapshot = shards.Snapshot(0);
  Held held;
  held.bytes = static_cast<int64_t>(snapshot.ByteSizeLong());
  for (const RangeState& range : snapshot.ranges()) {
    held.dense[absl::StrCat(range.table(), "[", range.begin(), ",", range.end(), ")")] =
        absl::StrCat(range.state_slots(), ":", range.values(), range.optimizer_state());
  }
  for (const SparseRowsState& sparse : snapshot.sparse()) {
    const size_t n = sparse.keys().size() / sizeof(uint64_t);
    const size_t row_bytes = sparse.rows().size() / std::max<size_t>(n, 1);
    for (size_t i = 0; i < n; ++i) {
      uint64_t key;
      std::memcpy(&key, sparse.keys().data() + i * sizeof(key), sizeof(key));
      held.rows[key] = sparse.rows().substr(i * row_bytes, row_bytes);
    }
  }
  for (const WorkerClock& clock : snapshot.worker_clocks()) {
    held.clocks.push_back(clock.SerializeAsString());
  }
  return held;
}

void RequireEqual(const Held& primary, const Held& replica) {
  REQUIRE(primary.dense.size() == replica.dense.size());
  for (const auto& [range, bytes] : primary.dense) {
    INFO(range);
    REQUIRE(replica.dense.count(range) == 1);
    REQUIRE(replica.dense.at(range) == bytes);  // values and Adam's moments, bit for bit
  }
  REQUIRE(primary.rows.size() == replica.rows.size());
  REQUIRE(primary.rows == replica.rows);
  REQUIRE(primary.clocks == replica.clocks);
}

absl::Status ObserverPull(JobShards& shards) {
  PullRequest pull;
  pull.set_job_id(kJob);
  pull.set_observer(true);
  *pull.add_slices() = MakeSlice("b", 0, 10);
  PullResponse response;
  std::optional<absl::Status> answer;
  shards.Pull(pull, &response, [&](absl::Status status) { answer = status; });
  REQUIRE(answer.has_value());
  return *answer;
}

TEST_CASE("a group whose state is several times the message cap is rebuilt bit for bit") {
  Node primary_node("server-0");
  Node replica_node("server-1");
  const JobAssignment assignment = Assignment(primary_node, replica_node);
  primary_node.store.Reconcile({assignment});
  replica_node.store.Reconcile({assignment});
  auto primary = primary_node.store.Find(kJob, 0);
  auto replica = replica_node.store.Find(kJob, 0);
  REQUIRE(primary.ok());
  REQUIRE(replica.ok());
  REQUIRE(absl::IsUnavailable(ObserverPull(**replica)));  // being rebuilt

  // Two clocks of Adam on every parameter: values, both moments and the
  // sparse rows all move.
  for (int64_t clock = 0; clock < 2; ++clock) {
    absl::Status pushed = (*primary)->Push(WholePush(clock));
    INFO(pushed.ToString());
    REQUIRE(pushed.ok());
  }
  const Held before = HeldBy(**primary);
  INFO("state of the group: " << before.bytes << " bytes; message cap " << kMaxMessageBytes);
  REQUIRE(before.bytes > 3 * static_cast<int64_t>(kMaxMessageBytes));

  REQUIRE((*primary)->TransferDue() == "server-1");
  const absl::Time start = absl::Now();
  primary_node.service.RunDueTransfers();
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("rebuilt a replica of %lld bytes (%.2f x the %d-byte message cap) in %.2f s\n",
              static_cast<long long>(before.bytes),
              static_cast<double>(before.bytes) / kMaxMessageBytes, kMaxMessageBytes, seconds);
  CHECK((*primary)->TransferDue().empty());  // sent, and pushes now go to the replica too
  REQUIRE(ObserverPull(**replica).ok());     // the replica holds the group
  RequireEqual(before, HeldBy(**replica));

  // A push after the rebuild goes through the primary's service, which
  // forwards it over gRPC to the rebuilt replica before acknowledging it.
  PushRequest later;
  later.set_job_id(kJob);
  later.set_worker_id("worker-0");
  later.set_clock(2);
  *later.add_slices() = MakeSlice("b", 0, kBias);
  FloatsToBytes(std::vector<float>(kBias, 0.5f), later.add_gradients());
  std::optional<absl::Status> acked;
  absl::Notification done;
  PushResponse response;
  primary_node.service.Push(later, &response, [&](absl::Status status) {
    acked = status;
    done.Notify();
  });
  REQUIRE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  INFO(acked->ToString());
  REQUIRE(acked->ok());
  RequireEqual(HeldBy(**primary), HeldBy(**replica));
}

}  // namespace
}  // namespace petrel::server

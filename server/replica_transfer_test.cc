// The chunked state transfer that rebuilds a replica (replica_transfer.h),
// between two JobShards of one group, on a fake transport the test owns:
// the rebuilt replica equals the primary bit for bit; a failed chunk call
// is resumed from where the receiver stands; a checksum mismatch, a state
// that does not fit and bad chunks are refused and leave the receiver
// awaiting its state with nothing installed.
#define CATCH_CONFIG_MAIN
#include "server/replica_transfer.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "common/sha256.h"
#include "server/job_shards.h"
#include "server/fake_replica_client.h"
#include "server/parameter_service.h"
#include "server/replica_test_job.h"
#include "server/shard_store.h"

namespace petrel::server {
namespace {

constexpr char kJob[] = "job-1";
constexpr int64_t kWeights = 40 * 50;
constexpr int64_t kBias = 10;
constexpr int kDim = 4;
// Small chunks, so that a state of ~45 KB takes a dozen of them.
constexpr int64_t kChunk = 4096;

// Group 0 of an Adam job with two workers (BSP), chain [server-0,
// server-1]; server-1 joined and awaits the state.
JobAssignment Assignment() {
  ReplicaTestJob job;
  job.job_id = kJob;
  job.rows = 40;
  job.cols = 50;
  job.bias = kBias;
  job.dim = kDim;
  job.workers = 2;
  job.seed = 5;
  return ReplicaTestAssignment(job);
}

Slice MakeSlice(const std::string& table, int64_t begin, int64_t end) {
  Slice slice;
  slice.set_table(table);
  slice.set_begin(begin);
  slice.set_end(end);
  return slice;
}

PushRequest WholePush(const std::string& worker, int64_t clock) {
  PushRequest push;
  push.set_job_id(kJob);
  push.set_worker_id(worker);
  push.set_clock(clock);
  const double phase = clock + (worker == "worker-1" ? 0.5 : 0.0);
  for (const auto& [table, size] : std::vector<std::pair<std::string, int64_t>>{
           {"w", kWeights}, {"b", kBias}}) {
    *push.add_slices() = MakeSlice(table, 0, size);
    std::vector<float> gradient(size);
    for (int64_t i = 0; i < size; ++i) gradient[i] = static_cast<float>(std::sin(0.01 * i + phase));
    FloatsToBytes(gradient, push.add_gradients());
  }
  SparseSlice* sparse = push.add_sparse();
  sparse->set_table("emb");
  std::vector<float> rows;
  for (uint64_t key = 3; key < 300; key += 7) {
    sparse->mutable_keys()->append(reinterpret_cast<const char*>(&key), sizeof(key));
    for (int d = 0; d < kDim; ++d) rows.push_back(0.01f * ((key + d + clock) % 13));
  }
  FloatsToBytes(rows, push.add_sparse_gradients());
  return push;
}

struct Pair {
  std::unique_ptr<JobShards> primary;
  std::unique_ptr<JobShards> replica;
};

// Two clocks from both workers, then worker-0's third: a BSP push held
// for worker-1, which must travel with the state.
Pair MakePair() {
  Pair pair;
  auto primary = JobShards::Create(Assignment(), "server-0", 0);
  auto replica = JobShards::Create(Assignment(), "server-1", 0);
  REQUIRE(primary.ok());
  REQUIRE(replica.ok());
  pair.primary = std::move(*primary);
  pair.replica = std::move(*replica);
  for (int64_t clock = 0; clock < 2; ++clock) {
    for (const char* worker : {"worker-0", "worker-1"}) {
      REQUIRE(pair.primary->Push(WholePush(worker, clock)).ok());
    }
  }
  REQUIRE(pair.primary->Push(WholePush("worker-0", 2)).ok());
  return pair;
}

// What must be equal on both: values and optimizer state of every range,
// every sparse row with its state (by key), the clocks.
std::string Held(const JobShards& shards) {
  ShardCheckpoint snapshot = shards.Snapshot(0);
  std::string held;
  for (const RangeState& range : snapshot.ranges()) held += range.SerializeAsString();
  for (const SparseRowsState& sparse : snapshot.sparse()) {
    std::map<uint64_t, std::string> rows;
    const size_t n = sparse.keys().size() / sizeof(uint64_t);
    const size_t row_bytes = n == 0 ? 0 : sparse.rows().size() / n;
    for (size_t i = 0; i < n; ++i) {
      uint64_t key;
      std::memcpy(&key, sparse.keys().data() + i * sizeof(key), sizeof(key));
      rows[key] = sparse.rows().substr(i * row_bytes, row_bytes);
    }
    for (const auto& [key, row] : rows) held += std::to_string(key) + row;
  }
  for (const WorkerClock& clock : snapshot.worker_clocks()) held += clock.SerializeAsString();
  return held;
}

bool Awaiting(JobShards& shards) {
  PullRequest pull;
  pull.set_job_id(kJob);
  pull.set_observer(true);
  *pull.add_slices() = MakeSlice("b", 0, kBias);
  PullResponse response;
  std::optional<absl::Status> answer;
  shards.Pull(pull, &response, [&](absl::Status status) { answer = status; });
  REQUIRE(answer.has_value());
  return absl::IsUnavailable(*answer) && absl::StrContains(answer->message(), "being rebuilt");
}

InstallReplicaRequest Header() {
  InstallReplicaRequest header;
  header.set_job_id(kJob);
  header.set_shard_group(0);
  return header;
}

ReplicaSendOptions Fast() {
  ReplicaSendOptions options;
  options.chunk_bytes = kChunk;
  options.backoff = absl::ZeroDuration();
  return options;
}

// The primary's state as Transfer would send it.
std::string SerializedState(const Pair& pair) {
  std::string bytes;
  REQUIRE(pair.primary
              ->Transfer([&](const std::string&, const ReplicaState& state) {
                state.SerializeToString(&bytes);
                return absl::UnavailableError("only looking");  // not marked sent
              })
              .code() == absl::StatusCode::kUnavailable);
  REQUIRE(pair.primary->TransferDue() == "server-1");
  return bytes;
}

absl::StatusOr<int64_t> Held(JobShards& replica, const std::string& transfer, int64_t total,
                             const std::string& sha) {
  InstallReplicaRequest ask = Header();
  ask.set_transfer_id(transfer);
  ask.set_total_bytes(total);
  ask.set_sha256(sha);
  auto answer = replica.InstallChunk(ask);
  if (!answer.ok()) return answer.status();
  return answer->held_bytes();
}

TEST_CASE("a state many chunks long is rebuilt bit for bit, held pushes included") {
  Pair pair = MakePair();
  REQUIRE(Awaiting(*pair.replica));
  std::optional<ReplicaSendStats> stats;
  REQUIRE(pair.primary
              ->Transfer([&](const std::string& address, const ReplicaState& state) {
                CHECK(address == "server-1:1");
                std::string bytes;
                REQUIRE(state.SerializeToString(&bytes));
                auto sent = SendReplicaState(
                    Header(), "t-1", bytes,
                    [&](const InstallReplicaRequest& chunk) {
                      CHECK(chunk.chunk().size() <= static_cast<size_t>(kChunk));
                      return pair.replica->InstallChunk(chunk);
                    },
                    Fast());
                if (sent.ok()) stats = *sent;
                return sent.status();
              })
              .ok());
  REQUIRE(stats.has_value());
  CHECK(stats->chunks == (stats->bytes + kChunk - 1) / kChunk);
  CHECK(stats->chunks >= 10);
  CHECK(stats->failures == 0);
  CHECK(pair.primary->TransferDue().empty());
  CHECK_FALSE(Awaiting(*pair.replica));
  REQUIRE(Held(*pair.replica) == Held(*pair.primary));
  // worker-1's clock 2 completes the clock held on both: still equal.
  for (JobShards* shards : {pair.primary.get(), pair.replica.get()}) {
    REQUIRE(shards->Push(WholePush("worker-1", 2)).ok());
  }
  CHECK(Held(*pair.replica) == Held(*pair.primary));
}

TEST_CASE("a failed chunk call is resumed from the bytes the receiver holds") {
  Pair pair = MakePair();
  const std::string state = SerializedState(pair);
  // Call 4 reaches the receiver but its answer is lost (a broken
  // connection); call 7 never reaches it (a deadline); the question after
  // call 7 fails too; the answer to the last chunk is lost as well.
  int calls = 0;
  int64_t bytes_taken = 0;
  const int64_t chunks = (static_cast<int64_t>(state.size()) + kChunk - 1) / kChunk;
  std::vector<int64_t> offsets;
  auto call = [&](const InstallReplicaRequest& chunk) -> absl::StatusOr<InstallReplicaResponse> {
    ++calls;
    offsets.push_back(chunk.chunk().empty() ? -1 : chunk.offset());
    if (calls == 7 || calls == 8) return absl::DeadlineExceededError("deadline");
    auto answer = pair.replica->InstallChunk(chunk);
    bytes_taken += static_cast<int64_t>(chunk.chunk().size());
    const bool last = chunk.offset() + static_cast<int64_t>(chunk.chunk().size()) ==
                      static_cast<int64_t>(state.size());
    if (calls == 4 || (last && !chunk.chunk().empty())) {
      return absl::UnavailableError("connection reset");
    }
    return answer;
  };
  auto sent = SendReplicaState(Header(), "t-resume", state, call, Fast());
  INFO(sent.status().ToString());
  REQUIRE(sent.ok());
  CHECK(sent->failures == 4);
  CHECK(sent->chunks == chunks - 2);  // two chunks were answered only through a question
  // Every byte crossed once: a resume never starts over.
  CHECK(bytes_taken == static_cast<int64_t>(state.size()));
  // Calls: chunks 0..3 (the 4th lost), a question, chunks 4, 5, 6 failing,
  // a question failing, a question, chunk 6, ...
  REQUIRE(offsets.size() > 10);
  CHECK(offsets[3] == 3 * kChunk);
  CHECK(offsets[4] == -1);
  CHECK(offsets[5] == 4 * kChunk);
  CHECK(offsets[6] == 5 * kChunk);
  CHECK(offsets[7] == -1);
  CHECK(offsets[8] == -1);
  CHECK(offsets[9] == 5 * kChunk);
  CHECK(offsets.back() == -1);  // the lost answer to the last chunk: asked, installed
  CHECK_FALSE(Awaiting(*pair.replica));
  // The state was taken while the primary's lock was free here; nothing
  // has been pushed since, so the two still match.
  CHECK(Held(*pair.replica) == Held(*pair.primary));
}

TEST_CASE("a sender gives up after bounded retries; the receiver awaits, and a new transfer "
          "starts over") {
  Pair pair = MakePair();
  const std::string state = SerializedState(pair);
  int calls = 0;
  auto broken = [&](const InstallReplicaRequest& chunk) -> absl::StatusOr<InstallReplicaResponse> {
    if (++calls > 3) return absl::UnavailableError("the receiver is gone");
    return pair.replica->InstallChunk(chunk);
  };
  auto sent = SendReplicaState(Header(), "t-broken", state, broken, Fast());
  REQUIRE(absl::IsUnavailable(sent.status()));
  CHECK(absl::StrContains(sent.status().message(), "5 failed calls in a row"));
  CHECK(calls == 3 + Fast().attempts);
  CHECK(Awaiting(*pair.replica));
  const std::string sha = Sha256(state);
  auto held = Held(*pair.replica, "t-broken", state.size(), sha);
  REQUIRE(held.ok());
  CHECK(*held == 3 * kChunk);  // the abandoned transfer's bytes, nothing installed

  // The next attempt (a new snapshot in the daemon) replaces it from byte 0.
  REQUIRE(pair.primary
              ->Transfer([&](const std::string&, const ReplicaState& replica_state) {
                std::string bytes;
                replica_state.SerializeToString(&bytes);
                return SendReplicaState(Header(), "t-next", bytes,
                                        [&](const InstallReplicaRequest& chunk) {
                                          return pair.replica->InstallChunk(chunk);
                                        },
                                        Fast())
                    .status();
              })
              .ok());
  CHECK_FALSE(Awaiting(*pair.replica));
  CHECK(Held(*pair.replica) == Held(*pair.primary));
}

TEST_CASE("a checksum mismatch is refused and leaves the receiver awaiting its state") {
  Pair pair = MakePair();
  const std::string state = SerializedState(pair);
  std::string wrong = Sha256(state);
  wrong[0] ^= 1;
  absl::Status last;
  for (int64_t offset = 0; offset < static_cast<int64_t>(state.size()); offset += kChunk) {
    auto answer = pair.replica->InstallChunk(
        MakeReplicaChunk(Header(), "t-bad", state, wrong, offset, kChunk));
    last = answer.status();
    if (!answer.ok()) break;
  }
  INFO(last.ToString());
  CHECK(last.code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(last.message(), "do not match their SHA-256"));
  CHECK(absl::StrContains(last.message(), "still awaits"));
  CHECK(Awaiting(*pair.replica));
  auto held = Held(*pair.replica, "t-bad", state.size(), wrong);
  REQUIRE(held.ok());
  CHECK(*held == 0);  // discarded

  // The sender sees the refusal as final (no resume), naming the transfer.
  auto sent = SendReplicaState(Header(), "t-bad-2", state,
                               [&](InstallReplicaRequest chunk) {
                                 chunk.mutable_sha256()->at(0) ^= 1;
                                 return pair.replica->InstallChunk(chunk);
                               },
                               Fast());
  CHECK(sent.status().code() == absl::StatusCode::kDataLoss);
  CHECK(absl::StrContains(sent.status().message(), "t-bad-2"));
  CHECK(Awaiting(*pair.replica));

  // A correct transfer afterwards installs.
  auto good = SendReplicaState(Header(), "t-good", state,
                               [&](const InstallReplicaRequest& chunk) {
                                 return pair.replica->InstallChunk(chunk);
                               },
                               Fast());
  REQUIRE(good.ok());
  CHECK_FALSE(Awaiting(*pair.replica));
}

TEST_CASE("bytes that match their checksum but do not fit the group install nothing") {
  Pair pair = MakePair();
  auto install_whole = [&](const std::string& id, const std::string& bytes) {
    return pair.replica->InstallChunk(
        MakeReplicaChunk(Header(), id, bytes, Sha256(bytes), 0, bytes.size()));
  };
  const std::string before = Held(*pair.replica);
  auto garbage = install_whole("t-garbage", std::string(100, '\xff'));
  CHECK(garbage.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(garbage.status().message(), "not a ReplicaState"));

  ReplicaState state;
  state.ParseFromString(SerializedState(pair));
  ReplicaState misfit = state;
  misfit.mutable_shards()->mutable_ranges(0)->set_end(7);  // a range server-1 does not hold
  auto refused = install_whole("t-misfit", misfit.SerializeAsString());
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(refused.status().message(), "is not held here"));
  ReplicaState stranger = state;
  stranger.add_held_pushes(WholePush("worker-9", 2).SerializeAsString());
  auto unknown = install_whole("t-stranger", stranger.SerializeAsString());
  CHECK(unknown.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(unknown.status().message(), "worker-9"));
  CHECK(Awaiting(*pair.replica));
  CHECK(Held(*pair.replica) == before);  // nothing of either state was installed

  auto installed = install_whole("t-ok", state.SerializeAsString());
  REQUIRE(installed.ok());
  CHECK(installed->installed());
  CHECK(Held(*pair.replica) == Held(*pair.primary));
}

TEST_CASE("bad chunks are refused, naming the problem, and change nothing") {
  Pair pair = MakePair();
  const std::string state = SerializedState(pair);
  const std::string sha = Sha256(state);
  auto chunk = [&](const std::string& id, int64_t offset) {
    return MakeReplicaChunk(Header(), id, state, sha, offset, kChunk);
  };
  JobShards& replica = *pair.replica;
  REQUIRE(replica.InstallChunk(chunk("t", 0)).ok());
  REQUIRE(replica.InstallChunk(chunk("t", kChunk)).ok());
  auto expect = [&](const InstallReplicaRequest& request, absl::StatusCode code,
                    const std::string& words) {
    auto answer = replica.InstallChunk(request);
    INFO(answer.status().ToString());
    CHECK(answer.status().code() == code);
    CHECK(absl::StrContains(answer.status().message(), words));
    auto held = Held(replica, "t", state.size(), sha);
    REQUIRE(held.ok());
    CHECK(*held == 2 * kChunk);  // unchanged
  };
  expect(chunk("t", 3 * kChunk), absl::StatusCode::kOutOfRange, "out of order");
  InstallReplicaRequest past = chunk("t", 2 * kChunk);
  past.set_total_bytes(2 * kChunk + 10);
  past.set_sha256(sha);
  expect(past, absl::StatusCode::kOutOfRange, "reach past the declared total");
  InstallReplicaRequest other_total = chunk("t", 2 * kChunk);
  other_total.set_total_bytes(state.size() + 1);
  expect(other_total, absl::StatusCode::kInvalidArgument, "declares another state");
  InstallReplicaRequest no_sha = chunk("t", 2 * kChunk);
  no_sha.clear_sha256();
  expect(no_sha, absl::StatusCode::kInvalidArgument, "SHA-256");
  InstallReplicaRequest no_id = chunk("", 2 * kChunk);
  expect(no_id, absl::StatusCode::kInvalidArgument, "names no transfer");
  InstallReplicaRequest huge = chunk("t", 2 * kChunk);
  huge.set_total_bytes(int64_t{1} << 40);
  expect(huge, absl::StatusCode::kResourceExhausted, "exceeds the limit");
  expect(chunk("u", kChunk), absl::StatusCode::kAborted, "start again from byte 0");
  // A repeat of bytes already held is acknowledged and taken once.
  auto repeat = replica.InstallChunk(chunk("t", 0));
  REQUIRE(repeat.ok());
  CHECK(repeat->held_bytes() == 2 * kChunk);

  // Unknown job or group, and a group that awaits no state, through the service.
  ShardStore store("server-0");
  store.Reconcile({Assignment()});
  FakeReplicaClient replicas;
  ParameterService service(&store, &replicas);
  InstallReplicaResponse response;
  InstallReplicaRequest unknown = chunk("t", 0);
  unknown.set_job_id("no-such-job");
  absl::Status not_found = service.InstallReplica(unknown, &response);
  CHECK(absl::IsNotFound(not_found));
  CHECK(absl::StrContains(not_found.message(), "no-such-job"));
  unknown = chunk("t", 0);
  unknown.set_shard_group(3);
  CHECK(absl::IsNotFound(service.InstallReplica(unknown, &response)));
  absl::Status holds = service.InstallReplica(chunk("t", 0), &response);
  CHECK(absl::IsFailedPrecondition(holds));
  CHECK(absl::StrContains(holds.message(), "already holds group 0 of job job-1"));
}

TEST_CASE("a repeat of the installed transfer is answered as installed; another replaces it "
          "until the map counts the replica") {
  Pair pair = MakePair();
  const std::string state = SerializedState(pair);
  auto call = [&](const InstallReplicaRequest& chunk) { return pair.replica->InstallChunk(chunk); };
  REQUIRE(SendReplicaState(Header(), "t-1", state, call, Fast()).ok());
  const std::string sha = Sha256(state);
  auto again = pair.replica->InstallChunk(
      MakeReplicaChunk(Header(), "t-1", state, sha, 0, kChunk));
  REQUIRE(again.ok());
  CHECK(again->installed());
  CHECK(again->held_bytes() == static_cast<int64_t>(state.size()));
  // Not at byte 0, or only asking: refused, nothing changes.
  CHECK(absl::IsFailedPrecondition(
      pair.replica->InstallChunk(MakeReplicaChunk(Header(), "t-2", state, sha, kChunk, kChunk))
          .status()));
  CHECK(absl::IsFailedPrecondition(
      Held(*pair.replica, "t-2", static_cast<int64_t>(state.size()), sha).status()));
  CHECK_FALSE(Awaiting(*pair.replica));

  // The sender never learnt of t-1 (its retries ran out after the last
  // chunk) and sends a new snapshot, after one more push: while the map
  // still shows server-1 being rebuilt, t-2 replaces t-1.
  REQUIRE(pair.primary->Push(WholePush("worker-1", 2)).ok());
  const std::string newer = SerializedState(pair);
  REQUIRE(SendReplicaState(Header(), "t-2", newer, call, Fast()).ok());
  CHECK(Held(*pair.replica) == Held(*pair.primary));

  // Once the map counts server-1 as holding the group, nothing replaces it.
  JobAssignment ready = Assignment();
  ready.mutable_shard_map()->set_epoch(2);
  ready.mutable_shard_map()->mutable_groups(0)->set_ready(2);
  pair.replica->Update(ready);
  auto other = pair.replica->InstallChunk(MakeReplicaChunk(Header(), "t-3", state, sha, 0, kChunk));
  CHECK(absl::IsFailedPrecondition(other.status()));
  CHECK(Held(*pair.replica) == Held(*pair.primary));
}

}  // namespace
}  // namespace petrel::server

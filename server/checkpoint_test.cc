// A job's shards survive a trip through a checkpoint file: restored shards
// answer pulls with the same bits and, their optimizer state restored too,
// apply the next push exactly as the originals do. A checkpoint that does
// not fit is refused and changes nothing.
#define CATCH_CONFIG_MAIN
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "checkpoint/checkpoint_file.h"
#include "server/job_shards.h"

namespace petrel::server {
namespace {

constexpr int64_t kSize = 40;

// Adam (3 slots per parameter) on a dense table "w" of kSize, placed as the
// given ranges, and a dim-2 sparse table "emb"; one async worker.
JobAssignment Assignment(std::vector<std::pair<int64_t, int64_t>> ranges) {
  JobAssignment assignment;
  assignment.set_job_id("job-1");
  assignment.set_state(RUNNING);
  JobSpec* spec = assignment.mutable_spec();
  spec->mutable_optimizer()->set_type("adam");
  spec->mutable_optimizer()->set_learning_rate(0.01f);
  spec->mutable_optimizer()->set_beta1(0.9f);
  spec->mutable_optimizer()->set_beta2(0.999f);
  spec->mutable_optimizer()->set_epsilon(1e-8f);
  spec->mutable_training()->set_seed(3);
  spec->mutable_training()->set_staleness(-1);
  spec->mutable_training()->set_stall_timeout_seconds(30);
  assignment.add_worker_ids("worker-0");
  ShardMap* map = assignment.mutable_shard_map();
  DenseTable* table = map->add_tables();
  table->set_name("w");
  table->add_shape(kSize);
  table->set_initializer("glorot_uniform");
  for (auto [begin, end] : ranges) {
    ShardRange* range = map->add_ranges();
    range->set_table("w");
    range->set_begin(begin);
    range->set_end(end);
    range->set_server_id("server-0");
  }
  SparseTable* sparse = map->add_sparse_tables();
  sparse->set_name("emb");
  sparse->set_dim(2);
  sparse->set_initializer("uniform");
  sparse->set_init_scale(0.1f);
  SparseShard* shard = map->add_sparse_shards();
  shard->set_table("emb");
  shard->set_index(0);
  shard->set_count(1);
  shard->set_server_id("server-0");
  return assignment;
}

std::unique_ptr<JobShards> Create(const JobAssignment& assignment) {
  auto shards = JobShards::Create(assignment, "server-0", 0);
  INFO(shards.status().ToString());
  REQUIRE(shards.ok());
  return std::move(*shards);
}

const std::vector<uint64_t> kKeys = {3, 99, 1ull << 40};

PushRequest Push(int64_t clock, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  PushRequest request;
  request.set_job_id("job-1");
  request.set_worker_id("worker-0");
  request.set_clock(clock);
  for (auto [begin, end] : ranges) {
    Slice* slice = request.add_slices();
    slice->set_table("w");
    slice->set_begin(begin);
    slice->set_end(end);
    std::vector<float> g(end - begin);
    for (int64_t i = begin; i < end; ++i) g[i - begin] = std::sin(0.3 * i + clock);
    FloatsToBytes(g, request.add_gradients());
  }
  SparseSlice* sparse = request.add_sparse();
  sparse->set_table("emb");
  sparse->set_keys(std::string(reinterpret_cast<const char*>(kKeys.data()), kKeys.size() * 8));
  std::vector<float> rows(kKeys.size() * 2);
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = std::cos(0.7 * i + clock);
  FloatsToBytes(rows, request.add_sparse_gradients());
  return request;
}

// Every dense value and sparse row, as an observer sees them.
std::string Everything(JobShards& shards, const std::vector<std::pair<int64_t, int64_t>>& ranges) {
  PullRequest request;
  request.set_job_id("job-1");
  request.set_observer(true);
  for (auto [begin, end] : ranges) {
    Slice* slice = request.add_slices();
    slice->set_table("w");
    slice->set_begin(begin);
    slice->set_end(end);
  }
  SparseSlice* sparse = request.add_sparse();
  sparse->set_table("emb");
  sparse->set_keys(std::string(reinterpret_cast<const char*>(kKeys.data()), kKeys.size() * 8));
  PullResponse response;
  bool done = false;
  shards.Pull(request, &response, [&](absl::Status status) {
    REQUIRE(status.ok());
    done = true;
  });
  REQUIRE(done);
  return response.SerializeAsString();
}

TEST_CASE("restored shards pull the same bits and apply the next push identically") {
  const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 15}, {15, 40}};
  auto original = Create(Assignment(ranges));
  for (int64_t c = 0; c < 3; ++c) REQUIRE(original->Push(Push(c, ranges)).ok());

  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path =
      std::string(tmp ? tmp : std::filesystem::temp_directory_path().c_str()) + "/s0.ckpt";
  REQUIRE(WriteCheckpointFile(path, original->Snapshot(3)).ok());
  auto read = ReadCheckpointFile(path);
  REQUIRE(read.ok());
  CHECK(read->clock() == 3);
  CHECK(read->sparse(0).keys().size() == kKeys.size() * 8);

  auto restored = Create(Assignment(ranges));
  CHECK(Everything(*restored, ranges) != Everything(*original, ranges));
  REQUIRE(restored->Restore(*read).ok());
  CHECK(Everything(*restored, ranges) == Everything(*original, ranges));
  // Adam's moments and step counts came back too: the next clock matches.
  REQUIRE(original->Push(Push(3, ranges)).ok());
  REQUIRE(restored->Push(Push(3, ranges)).ok());
  CHECK(Everything(*restored, ranges) == Everything(*original, ranges));
  // The gate resumed at the checkpoint's clock: clock 2 is over, so a push
  // for it is taken as a retry and changes nothing.
  const std::string before = Everything(*restored, ranges);
  CHECK(restored->Push(Push(2, ranges)).ok());
  CHECK(Everything(*restored, ranges) == before);
}

TEST_CASE("a checkpoint of another placement is refused and changes nothing") {
  auto original = Create(Assignment({{0, 15}, {15, 40}}));
  REQUIRE(original->Push(Push(0, {{0, 15}, {15, 40}})).ok());
  const ShardCheckpoint saved = original->Snapshot(1);

  auto other = Create(Assignment({{0, 20}, {20, 40}}));
  const std::string before = Everything(*other, {{0, 20}, {20, 40}});
  absl::Status status = other->Restore(saved);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(status.message().find("w[0, 15) is not held here") != std::string::npos);
  CHECK(Everything(*other, {{0, 20}, {20, 40}}) == before);
}

}  // namespace
}  // namespace petrel::server

// TableShards on its own: what it builds from a shard map, the checks of a
// push and a pull, one push applied, a BSP clock's sum in rank order, a
// round's mean delta, and checkpoints. (JobShards' tests cover them behind
// the facade.)
#define CATCH_CONFIG_MAIN
#include "server/table_shards.h"

#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "server/initializer.h"

namespace petrel::server {
namespace {

constexpr float kLearningRate = 0.5f;
constexpr uint64_t kSeed = 3;

// "w" (8 floats): [0, 6) in group 0, [6, 8) in group 1; sparse "emb" of dim
// 2, one shard, in group 0. SGD at 0.5.
JobSpec Spec() {
  JobSpec spec;
  spec.mutable_optimizer()->set_type("sgd");
  spec.mutable_optimizer()->set_learning_rate(kLearningRate);
  spec.mutable_training()->set_seed(kSeed);
  return spec;
}

ShardMap Map() {
  ShardMap map;
  DenseTable* w = map.add_tables();
  w->set_name("w");
  w->add_shape(8);
  w->set_initializer("normal");
  for (auto [begin, end, group] : {std::tuple{0, 6, 0}, std::tuple{6, 8, 1}}) {
    ShardRange* range = map.add_ranges();
    range->set_table("w");
    range->set_begin(begin);
    range->set_end(end);
    range->set_group(group);
  }
  SparseTable* emb = map.add_sparse_tables();
  emb->set_name("emb");
  emb->set_dim(2);
  emb->set_initializer("uniform");
  emb->set_init_scale(0.1f);
  SparseShard* shard = map.add_sparse_shards();
  shard->set_table("emb");
  shard->set_index(0);
  shard->set_count(1);
  shard->set_group(0);
  return map;
}

std::unique_ptr<TableShards> Create(bool bsp = false) {
  auto shards = TableShards::Create(Spec(), Map(), "job-1", "server-0", 0, bsp);
  REQUIRE(shards.ok());
  return std::move(*shards);
}

Slice W(int64_t begin, int64_t end) {
  Slice slice;
  slice.set_table("w");
  slice.set_begin(begin);
  slice.set_end(end);
  return slice;
}

std::string Floats(std::vector<float> values) {
  std::string bytes;
  FloatsToBytes(values, &bytes);
  return bytes;
}

PushRequest DensePush(int64_t begin, std::vector<float> gradient) {
  PushRequest push;
  *push.add_slices() = W(begin, begin + static_cast<int64_t>(gradient.size()));
  push.add_gradients(Floats(gradient));
  return push;
}

std::vector<float> Values(const TableShards& shards, int64_t begin, int64_t end) {
  PullRequest pull;
  *pull.add_slices() = W(begin, end);
  PullResponse response;
  absl::StatusOr<int64_t> bytes = shards.Serve(pull, &response);
  REQUIRE(bytes.ok());
  CHECK(*bytes == (end - begin) * 4);
  const absl::Span<const float> values = BytesAsFloats(response.values(0));
  return {values.begin(), values.end()};
}

std::vector<float> Initial(int64_t begin, int64_t end) {
  std::vector<float> values(end - begin);
  REQUIRE(InitializeRange(Map().tables(0), kSeed, begin, absl::MakeSpan(values)).ok());
  return values;
}

TEST_CASE("the shards hold the group's ranges as initialised, and only those") {
  std::unique_ptr<TableShards> shards = Create();
  CHECK(Values(*shards, 0, 6) == Initial(0, 6));
  CHECK(Values(*shards, 2, 4) == Initial(2, 4));
  PullRequest elsewhere;
  *elsewhere.add_slices() = W(5, 7);
  const absl::Status refused = shards->CheckPull(elsewhere);
  CHECK(absl::IsFailedPrecondition(refused));
  CHECK(absl::StrContains(refused.message(), "server-0 does not hold [5, 7) of w (it holds [0, 6))"));
  PullRequest sparse;
  SparseSlice* keys = sparse.add_sparse();
  keys->set_table("emb");
  const std::vector<uint64_t> twice = {4, 4};
  keys->set_keys(std::string(reinterpret_cast<const char*>(twice.data()), 16));
  CHECK(absl::IsInvalidArgument(shards->CheckPull(sparse)));
  ShardMap unknown = Map();
  unknown.mutable_ranges(0)->set_table("v");
  CHECK(absl::IsInvalidArgument(
      TableShards::Create(Spec(), unknown, "job-1", "server-0", 0, false).status()));
}

TEST_CASE("a push is checked whole, and applied through the optimizer") {
  std::unique_ptr<TableShards> shards = Create();
  const PushRequest wrong_length = DensePush(0, {1, 2, 3});
  PushRequest short_slice = wrong_length;
  short_slice.mutable_slices(0)->set_end(2);
  CHECK(absl::IsInvalidArgument(shards->CheckGradients(ViewOf(short_slice))));
  const PushRequest nan = DensePush(0, {1, std::numeric_limits<float>::quiet_NaN()});
  const absl::Status non_finite = shards->CheckGradients(ViewOf(nan));
  CHECK(absl::IsInvalidArgument(non_finite));
  CHECK(absl::StrContains(non_finite.message(), "element 1"));

  const PushRequest good = DensePush(1, {1, -2});
  REQUIRE(shards->CheckGradients(ViewOf(good)).ok());
  shards->Apply(ViewOf(good));
  std::vector<float> expected = Initial(0, 6);
  expected[1] -= kLearningRate * 1;
  expected[2] -= kLearningRate * -2;
  CHECK(Values(*shards, 0, 6) == expected);
}

TEST_CASE("a BSP clock is summed in rank order, parts included, and applied once") {
  std::unique_ptr<TableShards> shards = Create(/*bsp=*/true);
  // Rank 0 in two parts, rank 1 whole, rank 2 absent (it left).
  std::vector<std::vector<PushView>> by_rank(3);
  by_rank[0].push_back(OwnedView(DensePush(0, {0.1f, 0.2f})));
  by_rank[0].push_back(OwnedView(DensePush(2, {0.3f})));
  by_rank[1].push_back(OwnedView(DensePush(1, {1e8f, 0.7f})));
  shards->ApplySum(by_rank);
  std::vector<float> sum(6, 0.0f);
  sum[0] += 0.1f;
  sum[1] += 0.2f;
  sum[2] += 0.3f;
  sum[1] += 1e8f;
  sum[2] += 0.7f;
  std::vector<float> expected = Initial(0, 6);
  for (int i = 0; i < 6; ++i) expected[i] -= kLearningRate * sum[i];
  CHECK(Values(*shards, 0, 6) == expected);
  // The sum buffer is clear again: the next clock starts from zero.
  std::vector<std::vector<PushView>> next(1);
  next[0].push_back(OwnedView(DensePush(3, {2})));
  shards->ApplySum(next);
  expected[3] -= kLearningRate * 2;
  CHECK(Values(*shards, 0, 6) == expected);
}

TEST_CASE("a round's mean delta lands as the negative gradient of each range") {
  std::unique_ptr<TableShards> shards = Create();
  const std::vector<RoundAggregator::RangeLayout> layout = shards->RoundLayout(Map());
  REQUIRE(layout.size() == 1);
  CHECK(layout[0].table == "w");
  CHECK(layout[0].begin == 0);
  CHECK(layout[0].end == 6);
  shards->ApplyMeanDelta(layout, {{1, 2, 3, 4, 5, 6}});
  std::vector<float> expected = Initial(0, 6);
  for (int i = 0; i < 6; ++i) expected[i] -= kLearningRate * -static_cast<float>(i + 1);
  CHECK(Values(*shards, 0, 6) == expected);
}

TEST_CASE("a snapshot restores bit for bit; one of other shards changes nothing") {
  std::unique_ptr<TableShards> shards = Create();
  PushRequest push = DensePush(0, {1, 1, 1});
  SparseSlice* rows = push.add_sparse();
  rows->set_table("emb");
  const std::vector<uint64_t> keys = {11, 12};
  rows->set_keys(std::string(reinterpret_cast<const char*>(keys.data()), 16));
  push.add_sparse_gradients(Floats({1, 2, 3, 4}));
  const PushView view = ViewOf(push);
  REQUIRE(shards->CheckGradients(view).ok());
  shards->Apply(view);
  ShardCheckpoint saved;
  shards->SnapshotInto(&saved);
  CHECK(saved.ranges_size() == 1);
  REQUIRE(saved.sparse_size() == 1);
  CHECK(saved.sparse(0).keys().size() == 16);

  std::unique_ptr<TableShards> fresh = Create();
  REQUIRE(fresh->Restore(saved).ok());
  ShardCheckpoint again;
  fresh->SnapshotInto(&again);
  CHECK(again.SerializeAsString() == saved.SerializeAsString());

  ShardCheckpoint other = saved;
  other.mutable_ranges(0)->set_end(5);
  std::unique_ptr<TableShards> untouched = Create();
  const absl::Status refused = untouched->Restore(other);
  CHECK(absl::IsFailedPrecondition(refused));
  CHECK(absl::StrContains(refused.message(), "w[0, 5) is not held here"));
  CHECK(Values(*untouched, 0, 6) == Initial(0, 6));
}

}  // namespace
}  // namespace petrel::server

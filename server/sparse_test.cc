// Sparse tables on a server shard: rows created on first touch with a
// seeded initial value, pulls of unseen keys store nothing, pushes apply the
// optimizer per row (BSP: the rank-order sum), and bad requests change
// nothing.
#define CATCH_CONFIG_MAIN
#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <random>

#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "common/jobspec/partition.h"
#include "server/initializer.h"
#include "server/job_shards.h"
#include "server/sparse_rows.h"

namespace petrel::server {
namespace {

constexpr int kDim = 4;
constexpr float kLearningRate = 0.5f;

SparseTable Table(int64_t max_rows = 0) {
  SparseTable table;
  table.set_name("emb");
  table.set_dim(kDim);
  table.set_initializer("uniform");
  table.set_init_scale(0.1f);
  table.set_max_rows(max_rows);
  return table;
}

// Job "job-1" with sparse table "emb" cut over 2 servers; this is server-0.
JobAssignment Assignment(int staleness, int workers = 1, int64_t max_rows = 0) {
  JobAssignment assignment;
  assignment.set_job_id("job-1");
  assignment.set_state(RUNNING);
  JobSpec* spec = assignment.mutable_spec();
  spec->mutable_optimizer()->set_type("sgd");
  spec->mutable_optimizer()->set_learning_rate(kLearningRate);
  spec->mutable_training()->set_seed(3);
  spec->mutable_training()->set_staleness(staleness);
  for (int r = 0; r < workers; ++r) assignment.add_worker_ids("worker-" + std::to_string(r));
  ShardMap* map = assignment.mutable_shard_map();
  *map->add_sparse_tables() = Table(max_rows);
  for (const SparseShard& shard :
       PartitionSparseTables({Table(max_rows)}, {{"server-0", "a:1"}, {"server-1", "b:1"}})) {
    *map->add_sparse_shards() = shard;
  }
  return assignment;
}

std::unique_ptr<JobShards> Create(const JobAssignment& assignment) {
  auto shards = JobShards::Create(assignment, "server-0", 0);
  INFO(shards.status().ToString());
  REQUIRE(shards.ok());
  return std::move(*shards);
}

// Keys that server-0 (shard 0 of 2) holds.
std::vector<uint64_t> HeldKeys(int n, uint64_t from = 1) {
  std::vector<uint64_t> keys;
  for (uint64_t k = from; static_cast<int>(keys.size()) < n; ++k) {
    if (SparseShardOf(k, 2) == 0) keys.push_back(k);
  }
  return keys;
}

std::string KeyBytes(const std::vector<uint64_t>& keys) {
  return std::string(reinterpret_cast<const char*>(keys.data()), keys.size() * 8);
}

absl::StatusOr<std::vector<float>> Pull(JobShards& shards, const std::vector<uint64_t>& keys) {
  PullRequest request;
  request.set_job_id("job-1");
  request.set_observer(true);
  SparseSlice* slice = request.add_sparse();
  slice->set_table("emb");
  slice->set_keys(KeyBytes(keys));
  PullResponse response;
  std::optional<absl::Status> answer;
  shards.Pull(request, &response, [&](absl::Status s) { answer = s; });
  REQUIRE(answer.has_value());
  if (!answer->ok()) return *answer;
  absl::Span<const float> rows = BytesAsFloats(response.sparse_rows(0));
  return std::vector<float>(rows.begin(), rows.end());
}

PushRequest Push(const std::vector<uint64_t>& keys, const std::vector<float>& gradient,
                 int rank = 0, int64_t clock = 0) {
  PushRequest request;
  request.set_job_id("job-1");
  request.set_worker_id("worker-" + std::to_string(rank));
  request.set_clock(clock);
  SparseSlice* slice = request.add_sparse();
  slice->set_table("emb");
  slice->set_keys(KeyBytes(keys));
  FloatsToBytes(gradient, request.add_sparse_gradients());
  return request;
}

std::vector<float> Initial(uint64_t key) {
  std::vector<float> row(kDim);
  REQUIRE(InitializeSparseRow(Table(), 3, key, absl::MakeSpan(row)).ok());
  return row;
}

int64_t Rows(JobShards& shards) {
  return shards.StatusJson()["sparse_tables"][0]["rows"].get<int64_t>();
}

TEST_CASE("an unseen key reads as its initial row and stores nothing") {
  auto shards = Create(Assignment(0));
  const std::vector<uint64_t> keys = HeldKeys(3);
  auto rows = Pull(*shards, keys);
  REQUIRE(rows.ok());
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::vector<float> initial = Initial(keys[i]);
    CHECK(std::vector<float>(rows->begin() + i * kDim, rows->begin() + (i + 1) * kDim) == initial);
    for (float v : initial) CHECK(std::abs(v) <= 0.1f);
  }
  CHECK(Initial(keys[0]) != Initial(keys[1]));
  CHECK(Rows(*shards) == 0);
}

TEST_CASE("pushes create rows on first touch and apply SGD per row") {
  auto shards = Create(Assignment(StalenessGate::kAsync));
  const std::vector<uint64_t> keys = HeldKeys(5);
  std::vector<float> gradient(keys.size() * kDim);
  for (size_t i = 0; i < gradient.size(); ++i) gradient[i] = 0.01f * (i + 1);
  REQUIRE(shards->Push(Push(keys, gradient, 0, 0)).ok());
  REQUIRE(shards->Push(Push({keys[1]}, std::vector<float>(kDim, 1.0f), 0, 1)).ok());
  CHECK(Rows(*shards) == 5);
  auto rows = Pull(*shards, keys);
  REQUIRE(rows.ok());
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::vector<float> initial = Initial(keys[i]);
    for (int j = 0; j < kDim; ++j) {
      float expected = initial[j] - kLearningRate * gradient[i * kDim + j];
      if (i == 1) expected -= kLearningRate * 1.0f;
      CHECK((*rows)[i * kDim + j] == Approx(expected).margin(1e-6));
    }
  }
}

TEST_CASE("under BSP a key's gradients are summed over the workers, in any arrival order") {
  auto a = Create(Assignment(0, /*workers=*/2));
  auto b = Create(Assignment(0, 2));
  const std::vector<uint64_t> keys = HeldKeys(3);
  std::vector<float> g0(keys.size() * kDim, 0.3f), g1(keys.size() * kDim, 0.7f);
  REQUIRE(a->Push(Push(keys, g0, 0)).ok());
  REQUIRE(a->Push(Push(keys, g1, 1)).ok());
  REQUIRE(b->Push(Push(keys, g1, 1)).ok());
  CHECK(Rows(*b) == 0);  // held until worker-0 pushes clock 0
  REQUIRE(b->Push(Push(keys, g0, 0)).ok());
  auto ra = Pull(*a, keys), rb = Pull(*b, keys);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  CHECK(std::memcmp(ra->data(), rb->data(), ra->size() * sizeof(float)) == 0);
  CHECK((*ra)[0] == Approx(Initial(keys[0])[0] - kLearningRate * (0.3f + 0.7f)).margin(1e-6));
}

TEST_CASE("bad sparse requests are refused and change nothing") {
  auto shards = Create(Assignment(StalenessGate::kAsync, 1, /*max_rows=*/4));
  const std::vector<uint64_t> keys = HeldKeys(3);
  const std::vector<float> good(keys.size() * kDim, 0.1f);
  auto check_refused = [&](const PushRequest& request, absl::StatusCode code,
                           const std::string& words) {
    absl::Status status = shards->Push(request);
    INFO(status.ToString());
    CHECK(status.code() == code);
    CHECK(std::string(status.message()).find(words) != std::string::npos);
    CHECK(Rows(*shards) == 0);
  };
  std::vector<float> nan = good;
  nan[5] = std::nanf("");
  check_refused(Push(keys, nan), absl::StatusCode::kInvalidArgument, "non-finite");
  check_refused(Push(keys, std::vector<float>(keys.size() * (kDim - 1), 0.1f)),
                absl::StatusCode::kInvalidArgument, "dim 4");
  PushRequest ragged = Push(keys, good);
  ragged.mutable_sparse(0)->mutable_keys()->pop_back();
  check_refused(ragged, absl::StatusCode::kInvalidArgument, "whole number of uint64");
  check_refused(Push({keys[0], keys[0]}, std::vector<float>(2 * kDim, 0.1f)),
                absl::StatusCode::kInvalidArgument, "appears twice");
  uint64_t foreign = 1;
  while (SparseShardOf(foreign, 2) == 0) ++foreign;
  check_refused(Push({foreign}, std::vector<float>(kDim, 0.1f)),
                absl::StatusCode::kFailedPrecondition, "belongs to shard 1");
  PushRequest unknown = Push(keys, good);
  unknown.mutable_sparse(0)->set_table("nope");
  check_refused(unknown, absl::StatusCode::kNotFound, "nope");
  check_refused(Push(HeldKeys(5), std::vector<float>(5 * kDim, 0.1f)),
                absl::StatusCode::kResourceExhausted, "max_rows of 4");
  // Within the limit it works, and the limit then counts the stored rows.
  REQUIRE(shards->Push(Push(keys, good)).ok());
  CHECK(Rows(*shards) == 3);
  CHECK(shards->Push(Push(HeldKeys(2, keys.back() + 1), std::vector<float>(2 * kDim, 0.1f), 0, 1))
            .code() == absl::StatusCode::kResourceExhausted);
  CHECK(Rows(*shards) == 3);
}

TEST_CASE("sparse rows keep their own Adam state: a row advances only when pushed") {
  JobAssignment assignment = Assignment(StalenessGate::kAsync);
  OptimizerSpec* adam = assignment.mutable_spec()->mutable_optimizer();
  adam->set_type("adam");
  adam->set_learning_rate(0.05f);
  adam->set_beta1(0.9f);
  adam->set_beta2(0.999f);
  adam->set_epsilon(1e-8f);
  auto shards = Create(assignment);
  const std::vector<uint64_t> all = HeldKeys(8);
  // The reference, in double: per key its values, moments and own step count.
  struct Ref { std::vector<double> p, m, v; int t = 0; };
  std::map<uint64_t, Ref> ref;
  for (uint64_t key : all) {
    const std::vector<float> initial = Initial(key);
    ref[key] = {std::vector<double>(initial.begin(), initial.end()),
                std::vector<double>(kDim, 0.0), std::vector<double>(kDim, 0.0)};
  }
  std::mt19937 random(5);
  std::uniform_real_distribution<float> value(-1, 1);
  for (int64_t clock = 0; clock < 15; ++clock) {
    std::vector<uint64_t> keys;
    for (uint64_t key : all) {
      if (random() % 2) keys.push_back(key);
    }
    std::vector<float> gradient(keys.size() * kDim);
    for (float& g : gradient) g = value(random);
    REQUIRE(shards->Push(Push(keys, gradient, 0, clock)).ok());
    for (size_t k = 0; k < keys.size(); ++k) {
      Ref& r = ref[keys[k]];
      r.t += 1;
      for (int j = 0; j < kDim; ++j) {
        const double g = gradient[k * kDim + j];
        r.m[j] = 0.9 * r.m[j] + 0.1 * g;
        r.v[j] = 0.999 * r.v[j] + 0.001 * g * g;
        const double m_hat = r.m[j] / (1 - std::pow(0.9, r.t));
        const double v_hat = r.v[j] / (1 - std::pow(0.999, r.t));
        r.p[j] -= 0.05 * m_hat / (std::sqrt(v_hat) + 1e-8);
      }
    }
  }
  auto rows = Pull(*shards, all);
  REQUIRE(rows.ok());
  for (size_t k = 0; k < all.size(); ++k) {
    for (int j = 0; j < kDim; ++j) {
      const double expected = ref[all[k]].p[j];
      CHECK(std::abs((*rows)[k * kDim + j] - expected) <= 1e-6 * std::max(std::abs(expected), 1.0));
    }
  }
}

TEST_CASE("export pages through every row once, ascending, values only") {
  auto shards = Create(Assignment(StalenessGate::kAsync));
  std::vector<uint64_t> keys = HeldKeys(50, 1000);
  std::shuffle(keys.begin(), keys.end(), std::mt19937_64(9));  // pushed in no order
  std::vector<float> gradient(keys.size() * kDim, 0.25f);
  REQUIRE(shards->Push(Push(keys, gradient)).ok());

  ListSparseRowsRequest request;
  request.set_job_id("job-1");
  request.set_table("emb");
  request.set_max_rows(7);
  std::vector<uint64_t> listed;
  std::vector<float> values;
  int pages = 0;
  while (true) {
    ListSparseRowsResponse page;
    REQUIRE(shards->ListSparseRows(request, &page).ok());
    ++pages;
    CHECK(page.dim() == kDim);
    CHECK(page.total_rows() == 50);
    const size_t n = page.keys().size() / 8;
    CHECK(n <= 7);
    CHECK(page.rows().size() == n * kDim * 4);
    const auto* k = reinterpret_cast<const uint64_t*>(page.keys().data());
    listed.insert(listed.end(), k, k + n);
    absl::Span<const float> rows = BytesAsFloats(page.rows());
    values.insert(values.end(), rows.begin(), rows.end());
    if (!page.more()) break;
    request.set_has_after_key(true);
    request.set_after_key(listed.back());
  }
  CHECK(pages == 8);  // 7 x 7 + 1
  std::vector<uint64_t> sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  CHECK(listed == sorted);
  auto pulled = Pull(*shards, listed);
  REQUIRE(pulled.ok());
  CHECK(values == *pulled);

  // Bad requests are refused by name and change nothing.
  ListSparseRowsRequest unknown = request;
  unknown.set_table("nope");
  ListSparseRowsResponse ignored;
  auto status = shards->ListSparseRows(unknown, &ignored);
  CHECK(absl::IsNotFound(status));
  CHECK(status.message().find("nope") != std::string::npos);
  ListSparseRowsRequest negative = request;
  negative.set_max_rows(-1);
  CHECK(absl::IsInvalidArgument(shards->ListSparseRows(negative, &ignored)));
  CHECK(Rows(*shards) == 50);
}

TEST_CASE("rows live in slabs and stay put as the table grows") {
  SparseRows rows(Table(), 3, /*state_slots=*/1);
  float* first = rows.FindOrCreate(42);
  for (uint64_t k = 0; k < 100000; ++k) rows.FindOrCreate(k * 7919);
  CHECK(rows.FindOrCreate(42) == first);  // no reallocation moved it
  CHECK(rows.rows() == 100001 - (42 % 7919 == 0 ? 1 : 0));
  CHECK(rows.CountNew(std::vector<uint64_t>{42, 43, 7919}) == 1);
  // Values then zeroed optimizer state.
  for (int j = 0; j < kDim; ++j) CHECK(first[kDim + j] == 0.0f);
  CHECK(rows.bytes() >= rows.rows() * kDim * 2 * 4);
}

}  // namespace
}  // namespace petrel::server

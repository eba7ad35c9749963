// The per-key loops of a sparse push: the duplicate check, the batched
// find-or-create and apply (the same bits as one key at a time), the BSP
// sums, and SparseRows' batch calls as its index grows.
#define CATCH_CONFIG_MAIN
#include "server/sparse_apply.h"

#include <cstring>
#include <random>
#include <vector>

#include "catch2/catch.hpp"
#include "server/initializer.h"

namespace petrel::server {
namespace {

SparseTable Table(int dim) {
  SparseTable table;
  table.set_name("emb");
  table.set_dim(dim);
  table.set_initializer("uniform");
  table.set_init_scale(0.1f);
  return table;
}

std::unique_ptr<Optimizer> Adagrad() {
  OptimizerSpec spec;
  spec.set_type("adagrad");
  spec.set_learning_rate(0.1f);
  spec.set_initial_accumulator_value(0.1f);
  spec.set_epsilon(1e-10f);
  spec.set_weight_decay(0.01f);
  return *CreateOptimizer(spec);
}

std::vector<uint64_t> RandomKeys(size_t n, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<uint64_t> keys(n);
  for (uint64_t& k : keys) k = random();
  return keys;
}

TEST_CASE("FirstRepeatedKey finds a key given twice, in any order") {
  CHECK(!FirstRepeatedKey({}).has_value());
  CHECK(!FirstRepeatedKey(std::vector<uint64_t>{7}).has_value());
  CHECK(!FirstRepeatedKey(std::vector<uint64_t>{1, 2, 3, 1000}).has_value());
  CHECK(!FirstRepeatedKey(std::vector<uint64_t>{9, 2, 30, 0}).has_value());
  CHECK(FirstRepeatedKey(std::vector<uint64_t>{1, 2, 2, 3}) == 2u);
  CHECK(FirstRepeatedKey(std::vector<uint64_t>{5, 1, 9, 1, 5}) == 1u);  // the first to repeat
  CHECK(FirstRepeatedKey(std::vector<uint64_t>{0, 0}) == 0u);
  std::vector<uint64_t> many = RandomKeys(100000, 1);
  CHECK(!FirstRepeatedKey(many).has_value());
  many.push_back(many[1234]);
  CHECK(FirstRepeatedKey(many) == many[1234]);
}

// Rows built key by key with FindOrCreate and Apply: the reference.
void ApplyOneByOne(SparseRows& rows, const Optimizer& optimizer,
                   const std::vector<uint64_t>& keys, const std::vector<float>& gradient) {
  const int dim = rows.dim(), slots = optimizer.StateSlots();
  for (size_t k = 0; k < keys.size(); ++k) {
    float* row = rows.FindOrCreate(keys[k]);
    optimizer.Apply(absl::MakeSpan(row, dim), absl::MakeConstSpan(gradient).subspan(k * dim, dim),
                    absl::MakeSpan(row + dim, dim * slots));
  }
}

TEST_CASE("ApplyToRows gives the bits of one key at a time, over many batches") {
  std::unique_ptr<Optimizer> adagrad = Adagrad();
  for (int dim : {1, 4}) {
    SparseRows batched(Table(dim), 3, 1), single(Table(dim), 3, 1);
    std::mt19937 random(dim);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    // Three pushes: new keys, then half old and half new, then old again.
    std::vector<uint64_t> a = RandomKeys(3000, 10), b = RandomKeys(3000, 11);
    std::vector<uint64_t> mixed(a.begin(), a.begin() + 1500);
    mixed.insert(mixed.end(), b.begin(), b.begin() + 1500);
    for (const std::vector<uint64_t>* keys : {&a, &mixed, &a}) {
      std::vector<float> gradient(keys->size() * dim);
      for (float& g : gradient) g = uniform(random);
      ApplyToRows(batched, *adagrad, *keys, gradient.data());
      ApplyOneByOne(single, *adagrad, *keys, gradient);
    }
    REQUIRE(batched.rows() == 4500);
    REQUIRE(single.rows() == 4500);
    int64_t compared = 0;
    single.ForEachRow([&](uint64_t key, const float* want) {
      const float* got = batched.FindOrCreate(key);
      CHECK(std::memcmp(got, want, batched.row_floats() * sizeof(float)) == 0);
      ++compared;
    });
    CHECK(compared == 4500);
    CHECK(batched.rows() == 4500);  // FindOrCreate above found every key
  }
}

TEST_CASE("SparseSums adds each key's gradients in the order given, keys first seen first") {
  SparseSums sums(2);
  const std::vector<uint64_t> first = {5, 3}, second = {3, 9};
  const std::vector<float> g1 = {1.0f, 2.0f, 0.1f, 0.2f}, g2 = {1e8f, -1e8f, 7.0f, 8.0f};
  sums.Add(first, g1.data());
  sums.Add(second, g2.data());
  REQUIRE(sums.keys().size() == 3);
  CHECK(sums.keys()[0] == 5);
  CHECK(sums.keys()[1] == 3);
  CHECK(sums.keys()[2] == 9);
  const float* s = sums.sums();
  CHECK(s[0] == 1.0f);
  CHECK(s[1] == 2.0f);
  CHECK(s[2] == (0.0f + 0.1f) + 1e8f);  // in the order added
  CHECK(s[3] == (0.0f + 0.2f) + -1e8f);
  CHECK(s[4] == 7.0f);
  CHECK(s[5] == 8.0f);
}

TEST_CASE("batch calls agree with one key at a time while the index grows") {
  SparseRows rows(Table(3), 5, 1);
  const std::vector<uint64_t> keys = RandomKeys(200000, 2);  // many rehashes
  std::vector<uint64_t> first_half(keys.begin(), keys.begin() + 100000);
  CHECK(rows.CountNew(keys) == 200000);
  std::vector<float*> found(first_half.size());
  rows.FindOrCreateAll(first_half, absl::MakeSpan(found));
  CHECK(rows.rows() == 100000);
  CHECK(rows.CountNew(keys) == 100000);
  // Growing further moves no row.
  std::vector<float*> all(keys.size());
  rows.FindOrCreateAll(keys, absl::MakeSpan(all));
  CHECK(rows.rows() == 200000);
  bool same = true;
  for (size_t i = 0; i < found.size(); ++i) same = same && all[i] == found[i];
  CHECK(same);
  // A key given twice in one batch gets its one row.
  const std::vector<uint64_t> twice = {keys[7], 12345, keys[7], 12345};
  std::vector<float*> twice_rows(4);
  rows.FindOrCreateAll(twice, absl::MakeSpan(twice_rows));
  CHECK(twice_rows[0] == all[7]);
  CHECK(twice_rows[2] == all[7]);
  CHECK(twice_rows[1] == twice_rows[3]);
  CHECK(rows.rows() == 200001);
  // ReadAll: stored values, and initial values for keys never pushed
  // (storing nothing).
  std::vector<uint64_t> reads = {keys[0], 999, keys[199999]};
  std::vector<float> out(reads.size() * 3);
  rows.ReadAll(reads, out.data());
  CHECK(std::memcmp(out.data(), all[0], 3 * sizeof(float)) == 0);
  CHECK(std::memcmp(out.data() + 6, all[199999], 3 * sizeof(float)) == 0);
  std::vector<float> initial(3);
  REQUIRE(InitializeSparseRow(Table(3), 5, 999, absl::MakeSpan(initial)).ok());
  CHECK(std::memcmp(out.data() + 3, initial.data(), 3 * sizeof(float)) == 0);
  CHECK(rows.rows() == 200001);
}

}  // namespace
}  // namespace petrel::server

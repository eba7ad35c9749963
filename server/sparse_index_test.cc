// SparseIndex: every key found after any number of doublings, absent keys
// not found, each key's row made once, and the load kept under 7/10.
#define CATCH_CONFIG_MAIN
#include "server/sparse_index.h"

#include <algorithm>
#include <map>
#include <random>
#include <vector>

#include "catch2/catch.hpp"
#include "common/jobspec/partition.h"

namespace petrel::server {
namespace {

// Fake rows: distinct addresses, never dereferenced.
float* RowFor(std::vector<float>& storage, size_t i) { return storage.data() + i; }

void CheckKeys(const std::vector<uint64_t>& keys) {
  std::vector<float> storage(keys.size() + 1);
  SparseIndex index;
  size_t made = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    float* row = index.FindOrInsert(keys[i], [&] { return RowFor(storage, made++); });
    REQUIRE(row == RowFor(storage, i));
    REQUIRE(index.capacity() * 7 >= index.size() * 10);
  }
  CHECK(made == keys.size());
  CHECK(index.size() == static_cast<int64_t>(keys.size()));
  // Not so sparse that memory is wasted: at most twice the 7/10 bound.
  CHECK(index.capacity() * 7 <= std::max<int64_t>(64, index.size() * 20));
  bool all_found = true;
  for (size_t i = 0; i < keys.size(); ++i) {
    all_found = all_found && index.Find(keys[i]) == RowFor(storage, i);
    // Found again, not made again.
    all_found = all_found && index.FindOrInsert(keys[i], [&] { return RowFor(storage, made++); }) ==
                                 RowFor(storage, i);
  }
  CHECK(all_found);
  CHECK(made == keys.size());
  std::map<uint64_t, const float*> seen;
  index.ForEach([&](uint64_t key, const float* row) { seen[key] = row; });
  CHECK(seen.size() == keys.size());
}

TEST_CASE("sequential keys, including 0, survive every doubling") {
  std::vector<uint64_t> keys;
  for (uint64_t k = 0; k < 300000; ++k) keys.push_back(k);
  CheckKeys(keys);
}

TEST_CASE("random keys, and the keys one shard of two holds, survive every doubling") {
  std::mt19937_64 random(5);
  std::vector<uint64_t> keys(300000), shard_keys;
  for (uint64_t& k : keys) k = random();
  CheckKeys(keys);
  for (uint64_t k = 1; shard_keys.size() < 300000; ++k) {
    if (SparseShardOf(k, 2) == 1) shard_keys.push_back(k);
  }
  CheckKeys(shard_keys);
}

TEST_CASE("an empty index finds nothing and a missing key is not found") {
  SparseIndex index;
  CHECK(index.Find(0) == nullptr);
  CHECK(index.Find(~0ULL) == nullptr);
  index.Prefetch(3);  // harmless before any key
  float row = 0;
  index.FindOrInsert(~0ULL, [&] { return &row; });
  CHECK(index.Find(~0ULL) == &row);
  CHECK(index.Find(0) == nullptr);
  CHECK(index.size() == 1);
}

}  // namespace
}  // namespace petrel::server

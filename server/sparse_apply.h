// How a push's sparse gradients meet a shard's rows: the duplicate check,
// the apply in batches, and the per-key sums of one BSP clock. Kept apart
// from JobShards so that the per-key loops, which decide sparse push speed,
// sit in one short file with their own test (sparse_apply_test.cc).
#ifndef PETREL_SERVER_SPARSE_APPLY_H_
#define PETREL_SERVER_SPARSE_APPLY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/types/span.h"
#include "server/optimizer.h"
#include "server/sparse_rows.h"

namespace petrel::server {

// The keys a sparse slice's bytes hold. The size must be a whole number of
// uint64s (JobShards::FindSparse checks it first).
absl::Span<const uint64_t> SparseKeys(const std::string& bytes);

// The first key of `keys` that appears again, if any. A worker sends its
// keys ascending (a step's keys are sorted and distinct, and routing them to
// servers keeps their order), which one pass confirms; any other order pays
// for a hash set.
std::optional<uint64_t> FirstRepeatedKey(absl::Span<const uint64_t> keys);

// Applies gradient row k (gradient[k * dim, (k + 1) * dim)) to the row of
// keys[k] with `optimizer`, creating rows on first touch, in that order.
// A key given twice is applied twice, in turn. Works in batches: the rows of a batch are
// found (prefetched), then updated by one ApplyRows call, while still cached.
void ApplyToRows(SparseRows& rows, const Optimizer& optimizer, absl::Span<const uint64_t> keys,
                 const float* gradient);

// One BSP clock's gradients for one sparse table, summed per key. Each
// key's sum starts at 0 and adds the gradients in the order Add sees them
// (the caller adds in rank order), so the bits do not depend on arrival.
class SparseSums {
 public:
  explicit SparseSums(int dim) : dim_(dim) {}
  void Add(absl::Span<const uint64_t> keys, const float* gradient);
  // The distinct keys added, first seen first, and their sums (dim each).
  absl::Span<const uint64_t> keys() const { return keys_; }
  const float* sums() const { return sums_.data(); }

 private:
  const int dim_;
  absl::flat_hash_map<uint64_t, size_t> position_;  // key -> index in keys_
  std::vector<uint64_t> keys_;
  std::vector<float> sums_;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_SPARSE_APPLY_H_

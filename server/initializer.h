// Initial values of dense tables. Element i of a table is a pure function of
// (seed, table name, i), so the values do not depend on how the table is cut
// into shards, and a BSP run is reproducible for a given seed.
#ifndef PETREL_SERVER_INITIALIZER_H_
#define PETREL_SERVER_INITIALIZER_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "proto/job.pb.h"

namespace petrel::server {

// Fills `out` with elements [begin, begin + out.size()) of `table`.
// Initializers: "zeros", "glorot_uniform" (U(-l, l), l = sqrt(6 / (fan_in +
// fan_out))), "normal" (N(0, init_scale), init_scale 0.01 when unset).
absl::Status InitializeRange(const DenseTable& table, uint64_t seed, int64_t begin,
                             absl::Span<float> out);

// Fills `out` (dim floats) with the initial row of `key` in a sparse table: a
// pure function of (seed, table name, key), so a row's first value does not
// depend on which shard or when it is created. "zeros", "uniform"
// (U(-init_scale, init_scale)), "normal" (N(0, init_scale)); init_scale 0.01
// when unset.
absl::Status InitializeSparseRow(const SparseTable& table, uint64_t seed, uint64_t key,
                                 absl::Span<float> out);

// InitializeSparseRow for many rows of one table: the table's part of the
// work (its name's hash, the kind's name) is done once, here, not per row.
// The same values, bit for bit: InitializeSparseRow is built on it.
class SparseRowInitializer {
 public:
  SparseRowInitializer(const SparseTable& table, uint64_t seed);
  // OK, or the unknown initializer, named; Fill then writes zeros.
  const absl::Status& status() const { return status_; }
  void Fill(uint64_t key, absl::Span<float> out) const;

 private:
  enum class Kind { kZeros, kUniform, kNormal };
  absl::Status status_;
  Kind kind_ = Kind::kZeros;
  uint64_t stream_ = 0;
  double scale_ = 0;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_INITIALIZER_H_

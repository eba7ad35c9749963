// The rows of one sparse table held by one server shard. Keys map to rows by
// open addressing (SparseIndex); the rows live in large contiguous
// slabs, never one allocation each, so tens of millions of rows stay cheap.
// A row is `dim` values followed by `dim * state_slots` optimizer state.
// Not thread-safe: JobShards serialises writes.
//
// A table of millions of rows is far larger than the caches, so each key's
// lookup is a cache miss or two (the control bytes, the slot). The batch
// calls below prefetch a few keys ahead, so those misses overlap instead of
// queueing one after another; they are what a push or pull of many keys
// should use.
#ifndef PETREL_SERVER_SPARSE_ROWS_H_
#define PETREL_SERVER_SPARSE_ROWS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "absl/types/span.h"
#include "proto/job.pb.h"
#include "server/initializer.h"
#include "server/sparse_index.h"

namespace petrel::server {

class SparseRows {
 public:
  SparseRows(SparseTable spec, uint64_t seed, int state_slots);

  const SparseTable& spec() const { return spec_; }
  int dim() const { return spec_.dim(); }
  int64_t rows() const { return static_cast<int64_t>(index_.size()); }
  int64_t bytes() const;

  // The values of `key` into `out` (dim floats): the stored row, or the row's
  // initial value when the key was never pushed (nothing is stored then).
  void Read(uint64_t key, float* out) const;

  // The row of `key` (values, then state), created with its initial values
  // and zero state on first touch.
  float* FindOrCreate(uint64_t key);

  // FindOrCreate of each of `keys` in turn, rows[i] the row of keys[i]
  // (rows.size() == keys.size()). A key given twice gets the same row.
  void FindOrCreateAll(absl::Span<const uint64_t> keys, absl::Span<float*> rows);

  // Read of each of `keys` into out[i * dim, (i + 1) * dim).
  void ReadAll(absl::Span<const uint64_t> keys, float* out) const;

  // How many of `keys` have no row yet (a missing key given twice counts
  // twice).
  int64_t CountNew(absl::Span<const uint64_t> keys) const;
  // Calls `visit` with every row held (its values then its optimizer
  // state, row_floats() floats), in no particular order.
  void ForEachRow(const std::function<void(uint64_t key, const float* row)>& visit) const;
  int64_t row_floats() const { return row_floats_; }

  // Export: the values (no state) of the up to `max_rows` smallest keys
  // above `after` (all keys when `after` is empty), ascending, appended to
  // `keys` and `values`. Returns whether larger keys remain. Linear in the
  // rows held, whatever the page size.
  bool Page(std::optional<uint64_t> after, int64_t max_rows, std::vector<uint64_t>* keys,
            std::vector<float>* values) const;

 private:
  static constexpr int64_t kRowsPerSlab = 1 << 14;
  // How many keys ahead the batch calls prefetch: enough misses in flight
  // to cover memory latency, few enough that the lines are still cached
  // when their key's turn comes.
  static constexpr size_t kPrefetchAhead = 16;

  float* NewRow(uint64_t key);

  const SparseTable spec_;
  const SparseRowInitializer initializer_;
  const int64_t row_floats_;  // dim * (1 + state_slots)
  SparseIndex index_;
  std::vector<std::unique_ptr<float[]>> slabs_;
  int64_t used_in_last_slab_ = kRowsPerSlab;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_SPARSE_ROWS_H_

#include "server/sparse_rows.h"

#include <algorithm>
#include <cstring>

namespace petrel::server {

SparseRows::SparseRows(SparseTable spec, uint64_t seed, int state_slots)
    : spec_(std::move(spec)),
      initializer_(spec_, seed),
      row_floats_(spec_.dim() * (1 + state_slots)) {}

int64_t SparseRows::bytes() const {
  return static_cast<int64_t>(slabs_.size()) * kRowsPerSlab * row_floats_ * sizeof(float) +
         index_.capacity() * SparseIndex::kSlotBytes;
}

void SparseRows::Read(uint64_t key, float* out) const {
  if (const float* row = index_.Find(key)) {
    std::memcpy(out, row, dim() * sizeof(float));
    return;
  }
  // The initializer was validated when the job's shards were built.
  initializer_.Fill(key, absl::MakeSpan(out, dim()));
}

void SparseRows::ReadAll(absl::Span<const uint64_t> keys, float* out) const {
  const int d = dim();
  for (size_t i = 0; i < keys.size(); ++i) {
    index_.Prefetch(keys[std::min(i + kPrefetchAhead, keys.size() - 1)]);
    Read(keys[i], out + i * d);
  }
}

float* SparseRows::FindOrCreate(uint64_t key) {
  return index_.FindOrInsert(key, [&] { return NewRow(key); });
}

void SparseRows::FindOrCreateAll(absl::Span<const uint64_t> keys, absl::Span<float*> rows) {
  for (size_t i = 0; i < keys.size(); ++i) {
    index_.Prefetch(keys[std::min(i + kPrefetchAhead, keys.size() - 1)]);
    rows[i] = FindOrCreate(keys[i]);
    // The caller applies to the row next: start fetching it now.
    __builtin_prefetch(rows[i], 1);
  }
}

float* SparseRows::NewRow(uint64_t key) {
  if (used_in_last_slab_ == kRowsPerSlab) {
    // Not zeroed here: every row is written in full below.
    slabs_.push_back(std::unique_ptr<float[]>(new float[kRowsPerSlab * row_floats_]));
    used_in_last_slab_ = 0;
  }
  float* row = slabs_.back().get() + used_in_last_slab_ * row_floats_;
  ++used_in_last_slab_;
  initializer_.Fill(key, absl::MakeSpan(row, dim()));
  std::fill(row + dim(), row + row_floats_, 0.0f);
  return row;
}

int64_t SparseRows::CountNew(absl::Span<const uint64_t> keys) const {
  int64_t count = 0;
  for (size_t i = 0; i < keys.size(); ++i) {
    index_.Prefetch(keys[std::min(i + kPrefetchAhead, keys.size() - 1)]);
    count += index_.Find(keys[i]) == nullptr ? 1 : 0;
  }
  return count;
}

void SparseRows::ForEachRow(
    const std::function<void(uint64_t key, const float* row)>& visit) const {
  index_.ForEach(visit);
}

bool SparseRows::Page(std::optional<uint64_t> after, int64_t max_rows,
                      std::vector<uint64_t>* keys, std::vector<float>* values) const {
  std::vector<uint64_t> page;
  index_.ForEach([&](uint64_t key, const float*) {
    if (!after.has_value() || key > *after) page.push_back(key);
  });
  const bool more = static_cast<int64_t>(page.size()) > max_rows;
  if (more) {
    std::nth_element(page.begin(), page.begin() + max_rows, page.end());
    page.resize(max_rows);
  }
  std::sort(page.begin(), page.end());
  const int d = dim();
  const size_t first = values->size();
  values->resize(first + page.size() * d);
  for (size_t i = 0; i < page.size(); ++i) {
    const float* row = index_.Find(page[i]);
    std::copy(row, row + d, values->data() + first + i * d);
  }
  keys->insert(keys->end(), page.begin(), page.end());
  return more;
}

}  // namespace petrel::server

#include "server/sparse_apply.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"

namespace petrel::server {

absl::Span<const uint64_t> SparseKeys(const std::string& bytes) {
  return absl::MakeConstSpan(reinterpret_cast<const uint64_t*>(bytes.data()),
                             bytes.size() / sizeof(uint64_t));
}

std::optional<uint64_t> FirstRepeatedKey(absl::Span<const uint64_t> keys) {
  size_t ascending = 1;
  while (ascending < keys.size() && keys[ascending - 1] < keys[ascending]) ++ascending;
  if (ascending >= keys.size()) return std::nullopt;
  absl::flat_hash_set<uint64_t> seen;
  seen.reserve(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!seen.insert(keys[i]).second) return keys[i];
  }
  return std::nullopt;
}

void ApplyToRows(SparseRows& rows, const Optimizer& optimizer, absl::Span<const uint64_t> keys,
                 const float* gradient) {
  // Small enough that a batch's rows stay in L1/L2 between the two passes.
  constexpr size_t kBatch = 512;
  float* batch[kBatch];
  const int dim = rows.dim();
  for (size_t begin = 0; begin < keys.size(); begin += kBatch) {
    const size_t n = std::min(kBatch, keys.size() - begin);
    rows.FindOrCreateAll(keys.subspan(begin, n), absl::MakeSpan(batch, n));
    optimizer.ApplyRows(absl::MakeConstSpan(batch, n), gradient + begin * dim, dim);
  }
}

void SparseSums::Add(absl::Span<const uint64_t> keys, const float* gradient) {
  for (size_t k = 0; k < keys.size(); ++k) {
    auto [it, added] = position_.try_emplace(keys[k], keys_.size());
    if (added) {
      keys_.push_back(keys[k]);
      sums_.resize(sums_.size() + dim_, 0.0f);
    }
    float* sum = sums_.data() + it->second * dim_;
    for (int j = 0; j < dim_; ++j) sum[j] += gradient[k * dim_ + j];
  }
}

}  // namespace petrel::server

// How pushed gradients are checked and applied to the shards: dense ranges
// and sparse rows, each push at once, or (BSP) each clock's pushes summed in
// rank order, and a federated round's mean delta.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/wire/gradient_codec.h"
#include "common/status_macros.h"
#include "server/finite_check.h"
#include "server/parallel_apply.h"
#include "server/sparse_apply.h"
#include "server/table_shards.h"

namespace petrel::server {
namespace {

// A pushed gradient's bytes lie where gRPC received them, at any address
// (common/push_wire.h). The check and the BSP sums read them as they lie;
// the optimizers take float arrays, so a misaligned gradient is copied into
// `staging` first (one copy, into memory reused from push to push).
bool FloatAligned(absl::string_view bytes) {
  return reinterpret_cast<uintptr_t>(bytes.data()) % alignof(float) == 0;
}

absl::Span<const float> AlignedFloats(absl::string_view bytes, std::vector<float>* staging) {
  const size_t n = bytes.size() / sizeof(float);
  if (FloatAligned(bytes)) return absl::Span<const float>(reinterpret_cast<const float*>(bytes.data()), n);
  staging->resize(n);
  if (n > 0) std::memcpy(staging->data(), bytes.data(), n * sizeof(float));
  return *staging;
}

// sum[j] += gradient j of `bytes`, for n floats at any address. The same
// additions in the same order as over a float array: the same bits.
void AddFloats(absl::string_view bytes, size_t first, size_t n, float* sum) {
  const char* from = bytes.data() + first * sizeof(float);
  for (size_t j = 0; j < n; ++j) {
    float g;
    std::memcpy(&g, from + j * sizeof(g), sizeof(g));
    sum[j] += g;
  }
}

// A push's sparse keys, which DecodePush leaves 8-aligned (viewed in place
// or gathered) and FindSparse has checked.
absl::Span<const uint64_t> ViewedKeys(absl::string_view bytes) {
  return absl::MakeConstSpan(reinterpret_cast<const uint64_t*>(bytes.data()),
                             bytes.size() / sizeof(uint64_t));
}

// What a decoded view owns: the float32 it decoded, and the sparse tensors
// it still views: their owner, or (viewing a caller's request) a copy.
struct Decoded {
  std::shared_ptr<const void> original;
  std::vector<std::vector<float>> gradients;
  std::deque<std::string> copies;
};

}  // namespace

absl::Status TableShards::CheckGradients(const PushView& push) const {
  const PushRequest& request = push.header;
  if (push.gradients.size() != static_cast<size_t>(request.slices_size())) {
    return absl::InvalidArgumentError(absl::StrCat("push carries ", request.slices_size(),
                                                   " slices but ", push.gradients.size(),
                                                   " gradients"));
  }
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    PETREL_RETURN_IF_ERROR(FindRange(slice).status());
    absl::string_view bytes = push.gradients[i];
    const int64_t expected = (slice.end() - slice.begin()) * sizeof(float);
    if (static_cast<int64_t>(bytes.size()) != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gradient for ", slice.table(), "[", slice.begin(), ", ", slice.end(), ") has ",
          bytes.size(), " bytes; expected ", expected, " (", expected / 4, " float32)"));
    }
    if (const int64_t j = FirstNonFiniteBytes(bytes); j >= 0) {
      float bad;
      std::memcpy(&bad, bytes.data() + j * sizeof(bad), sizeof(bad));
      return absl::InvalidArgumentError(
          absl::StrCat("gradient for ", slice.table(), " element ", slice.begin() + j, " is ",
                       bad, "; refusing a non-finite gradient"));
    }
  }
  if (push.sparse_gradients.size() != static_cast<size_t>(request.sparse_size()) ||
      push.sparse_keys.size() != static_cast<size_t>(request.sparse_size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "push carries ", request.sparse_size(), " sparse slices but ",
        push.sparse_gradients.size(), " sparse gradients"));
  }
  for (int i = 0; i < request.sparse_size(); ++i) {
    const SparseSlice& slice = request.sparse(i);
    absl::Span<const uint64_t> keys;
    PETREL_ASSIGN_OR_RETURN(const SparseShardState* shard,
                            FindSparse(slice.table(), push.sparse_keys[i], &keys));
    const int dim = shard->rows->dim();
    absl::string_view bytes = push.sparse_gradients[i];
    if (bytes.size() != keys.size() * dim * sizeof(float)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sparse gradient for ", slice.table(), " has ", bytes.size(), " bytes; ", keys.size(),
          " keys of dim ", dim, " need ", keys.size() * dim * sizeof(float)));
    }
    if (const int64_t j = FirstNonFiniteBytes(bytes); j >= 0) {
      float bad;
      std::memcpy(&bad, bytes.data() + j * sizeof(bad), sizeof(bad));
      return absl::InvalidArgumentError(absl::StrCat("gradient for ", slice.table(), " key ",
                                                     keys[j / dim], " is ", bad,
                                                     "; refusing a non-finite gradient"));
    }
    const int64_t max_rows = shard->rows->spec().max_rows();
    if (max_rows > 0 && shard->rows->rows() + shard->rows->CountNew(keys) > max_rows) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "sparse table ", slice.table(), " on ", server_id_, " holds ", shard->rows->rows(),
          " rows; this push would create ", shard->rows->CountNew(keys),
          " more, past its max_rows of ", max_rows));
    }
  }
  return absl::OkStatus();
}

absl::Status TableShards::DecodeGradients(const PushView& push, PushView* decoded) const {
  const PushRequest& request = push.header;
  if (push.gradients.size() != static_cast<size_t>(request.slices_size())) {
    return absl::InvalidArgumentError(absl::StrCat("push carries ", request.slices_size(),
                                                   " slices but ", push.gradients.size(),
                                                   " gradients"));
  }
  auto floats = std::make_shared<Decoded>();
  floats->original = push.owner;
  floats->gradients.resize(push.gradients.size());
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    PETREL_RETURN_IF_ERROR(FindRange(slice).status());  // bounds the slice's length
    // The decoders read halves and offsets as arrays: aligned, if need be by a copy.
    absl::string_view bytes = push.gradients[i];
    std::string aligned;
    if (!FloatAligned(bytes)) bytes = aligned = std::string(bytes);
    absl::Status status = DecodeGradient(request.encoding(), bytes, slice.end() - slice.begin(),
                                         &floats->gradients[i]);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gradient for ", slice.table(), "[", slice.begin(), ", ", slice.end(), "): ",
          status.message()));
    }
  }
  decoded->header = request;
  decoded->header.set_encoding(FLOAT32);
  decoded->gradients.clear();
  for (const std::vector<float>& gradient : floats->gradients) {
    decoded->gradients.emplace_back(reinterpret_cast<const char*>(gradient.data()),
                                    gradient.size() * sizeof(float));
  }
  decoded->sparse_keys = push.sparse_keys;
  decoded->sparse_gradients = push.sparse_gradients;
  if (push.owner == nullptr) {
    // So that the decoded view may be held as it is.
    for (auto* views : {&decoded->sparse_keys, &decoded->sparse_gradients}) {
      for (absl::string_view& bytes : *views) bytes = floats->copies.emplace_back(bytes);
    }
  }
  decoded->owner = std::move(floats);
  return absl::OkStatus();
}

void TableShards::Apply(const PushView& push) {
  const PushRequest& request = push.header;
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    Range& range = HeldRange(slice);  // checked by CheckGradients
    const int64_t offset = slice.begin() - range.begin;
    const int64_t count = slice.end() - slice.begin();
    const int slots = range.optimizer->StateSlots();
    ApplyInParallel(*range.optimizer, absl::MakeSpan(range.values.data() + offset, count),
                    AlignedFloats(push.gradients[i], &staging_),
                    absl::MakeSpan(range.optimizer_state.data() + offset * slots, count * slots));
  }
  for (int i = 0; i < request.sparse_size(); ++i) {
    // Checked by CheckGradients: not looked over again.
    SparseShardState& shard = sparse_.at(request.sparse(i).table());
    ApplyToRows(*shard.rows, *shard.optimizer, ViewedKeys(push.sparse_keys[i]),
                AlignedFloats(push.sparse_gradients[i], &staging_).data());
  }
}

void TableShards::ApplySum(const std::vector<std::vector<PushView>>& by_rank) {
  // Sum in rank order, whatever order the pushes came in.
  std::vector<Range*> touched;
  // A worker that left before this clock has no parts.
  std::vector<const PushView*> pushes;
  for (const auto& parts : by_rank) {
    for (const PushView& part : parts) pushes.push_back(&part);
  }
  for (const PushView* push : pushes) {
    for (int i = 0; i < push->header.slices_size(); ++i) {
      const Slice& slice = push->header.slices(i);
      Range& range = HeldRange(slice);
      if (range.sum_lo == range.sum_hi) {
        touched.push_back(&range);
        range.sum_lo = slice.begin() - range.begin;
        range.sum_hi = slice.end() - range.begin;
      }
      range.sum_lo = std::min(range.sum_lo, slice.begin() - range.begin);
      range.sum_hi = std::max(range.sum_hi, slice.end() - range.begin);
      float* sum = range.bsp_sum.data() + (slice.begin() - range.begin);
      AddFloats(push->gradients[i], 0, push->gradients[i].size() / sizeof(float), sum);
    }
  }
  // Sparse rows: the same, per key.
  std::map<std::string, SparseSums> sparse_sums;
  for (const PushView* push : pushes) {
    for (int i = 0; i < push->header.sparse_size(); ++i) {
      const std::string& table = push->header.sparse(i).table();
      const int dim = sparse_.at(table).rows->dim();
      // Summed at once: the staging buffer is free again for the next.
      sparse_sums.try_emplace(table, dim)
          .first->second.Add(ViewedKeys(push->sparse_keys[i]),
                             AlignedFloats(push->sparse_gradients[i], &staging_).data());
    }
  }
  for (const auto& [table, sums] : sparse_sums) {
    SparseShardState& shard = sparse_.at(table);
    ApplyToRows(*shard.rows, *shard.optimizer, sums.keys(), sums.sums());
  }
  for (Range* range : touched) {
    const int64_t lo = range->sum_lo, count = range->sum_hi - range->sum_lo;
    const int slots = range->optimizer->StateSlots();
    ApplyInParallel(*range->optimizer, absl::MakeSpan(range->values.data() + lo, count),
                    absl::MakeConstSpan(range->bsp_sum.data() + lo, count),
                    absl::MakeSpan(range->optimizer_state.data() + lo * slots, count * slots));
    std::fill_n(range->bsp_sum.data() + lo, count, 0.0f);
    range->sum_lo = range->sum_hi = 0;
  }
}

void TableShards::ApplyMeanDelta(const std::vector<RoundAggregator::RangeLayout>& layout,
                                 const std::vector<std::vector<float>>& mean_delta) {
  // The optimizer descends: the mean delta is the negative gradient.
  std::vector<float> gradient;
  for (size_t i = 0; i < layout.size(); ++i) {
    const RoundAggregator::RangeLayout& held = layout[i];
    Slice slice;
    slice.set_table(held.table);
    slice.set_begin(held.begin);
    slice.set_end(held.end);
    Range& range = HeldRange(slice);  // the layout was built from these ranges
    const std::vector<float>& delta = mean_delta[i];
    gradient.resize(delta.size());
    for (size_t k = 0; k < delta.size(); ++k) gradient[k] = -delta[k];
    ApplyInParallel(*range.optimizer, absl::MakeSpan(range.values), gradient,
                    absl::MakeSpan(range.optimizer_state));
  }
}

}  // namespace petrel::server

// How pushed gradients are checked and applied to one job's shards: dense
// ranges and sparse rows, each push at once, or (BSP) each clock's pushes
// summed in rank order. Split from job_shards.cc, which holds the rest.
#include <algorithm>
#include <cmath>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/float_bytes.h"
#include "common/gradient_codec.h"
#include "common/status_macros.h"
#include "server/finite_check.h"
#include "server/job_shards.h"
#include "server/parallel_apply.h"
#include "server/sparse_apply.h"

namespace petrel::server {

absl::Status JobShards::CheckGradients(const PushRequest& request) {
  if (request.gradients_size() != request.slices_size()) {
    return absl::InvalidArgumentError(absl::StrCat("push carries ", request.slices_size(),
                                                   " slices but ", request.gradients_size(),
                                                   " gradients"));
  }
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    PETREL_RETURN_IF_ERROR(FindRange(slice).status());
    const std::string& bytes = request.gradients(i);
    const int64_t expected = (slice.end() - slice.begin()) * sizeof(float);
    if (static_cast<int64_t>(bytes.size()) != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gradient for ", slice.table(), "[", slice.begin(), ", ", slice.end(), ") has ",
          bytes.size(), " bytes; expected ", expected, " (", expected / 4, " float32)"));
    }
    absl::Span<const float> gradient = BytesAsFloats(bytes);
    if (const int64_t j = FirstNonFinite(gradient); j >= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("gradient for ", slice.table(), " element ", slice.begin() + j, " is ",
                       gradient[j], "; refusing a non-finite gradient"));
    }
  }
  if (request.sparse_gradients_size() != request.sparse_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "push carries ", request.sparse_size(), " sparse slices but ",
        request.sparse_gradients_size(), " sparse gradients"));
  }
  for (int i = 0; i < request.sparse_size(); ++i) {
    const SparseSlice& slice = request.sparse(i);
    absl::Span<const uint64_t> keys;
    PETREL_ASSIGN_OR_RETURN(SparseShardState * shard, FindSparse(slice, &keys));
    const int dim = shard->rows->dim();
    const std::string& bytes = request.sparse_gradients(i);
    if (bytes.size() != keys.size() * dim * sizeof(float)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "sparse gradient for ", slice.table(), " has ", bytes.size(), " bytes; ", keys.size(),
          " keys of dim ", dim, " need ", keys.size() * dim * sizeof(float)));
    }
    absl::Span<const float> gradient = BytesAsFloats(bytes);
    if (const int64_t j = FirstNonFinite(gradient); j >= 0) {
      return absl::InvalidArgumentError(absl::StrCat("gradient for ", slice.table(), " key ",
                                                     keys[j / dim], " is ", gradient[j],
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

absl::Status JobShards::DecodeGradients(const PushRequest& request, PushRequest* decoded) {
  if (request.gradients_size() != request.slices_size()) {
    return absl::InvalidArgumentError(absl::StrCat("push carries ", request.slices_size(),
                                                   " slices but ", request.gradients_size(),
                                                   " gradients"));
  }
  *decoded = request;
  decoded->clear_gradients();
  decoded->set_encoding(FLOAT32);
  std::vector<float> floats;
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    PETREL_RETURN_IF_ERROR(FindRange(slice).status());  // bounds the slice's length
    absl::Status status =
        DecodeGradient(request.encoding(), request.gradients(i), slice.end() - slice.begin(), &floats);
    if (!status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gradient for ", slice.table(), "[", slice.begin(), ", ", slice.end(), "): ",
          status.message()));
    }
    FloatsToBytes(floats, decoded->add_gradients());
  }
  return absl::OkStatus();
}

void JobShards::ApplyNow(const PushRequest& request) {
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    Range& range = **FindRange(slice);  // checked by CheckGradients
    const int64_t offset = slice.begin() - range.begin;
    const int64_t count = slice.end() - slice.begin();
    const int slots = range.optimizer->StateSlots();
    ApplyInParallel(*range.optimizer, absl::MakeSpan(range.values.data() + offset, count),
                    BytesAsFloats(request.gradients(i)),
                    absl::MakeSpan(range.optimizer_state.data() + offset * slots, count * slots));
  }
  for (int i = 0; i < request.sparse_size(); ++i) {
    // Checked by CheckGradients: not looked over again.
    const SparseSlice& slice = request.sparse(i);
    SparseShardState& shard = sparse_.at(slice.table());
    ApplyToRows(*shard.rows, *shard.optimizer, SparseKeys(slice.keys()),
                BytesAsFloats(request.sparse_gradients(i)).data());
  }
}

void JobShards::ApplyCompleteClocks() {
  while (!held_.empty() && gate_.Complete(held_.begin()->first)) {
    // Sum in rank order, whatever order the pushes came in.
    std::vector<Range*> touched;
    // A worker that left before this clock has no parts.
    std::vector<const PushRequest*> pushes;
    for (const auto& parts : held_.begin()->second) {
      for (const std::unique_ptr<PushRequest>& part : parts) pushes.push_back(part.get());
    }
    for (const PushRequest* push : pushes) {
      for (int i = 0; i < push->slices_size(); ++i) {
        const Slice& slice = push->slices(i);
        Range& range = **FindRange(slice);
        if (range.sum_lo == range.sum_hi) {
          touched.push_back(&range);
          range.sum_lo = slice.begin() - range.begin;
          range.sum_hi = slice.end() - range.begin;
        }
        range.sum_lo = std::min(range.sum_lo, slice.begin() - range.begin);
        range.sum_hi = std::max(range.sum_hi, slice.end() - range.begin);
        absl::Span<const float> gradient = BytesAsFloats(push->gradients(i));
        float* sum = range.bsp_sum.data() + (slice.begin() - range.begin);
        for (size_t j = 0; j < gradient.size(); ++j) sum[j] += gradient[j];
      }
    }
    // Sparse rows: the same, per key.
    std::map<std::string, SparseSums> sparse_sums;
    for (const PushRequest* push : pushes) {
      for (int i = 0; i < push->sparse_size(); ++i) {
        const SparseSlice& slice = push->sparse(i);
        const int dim = sparse_.at(slice.table()).rows->dim();
        sparse_sums.try_emplace(slice.table(), dim)
            .first->second.Add(SparseKeys(slice.keys()),
                               BytesAsFloats(push->sparse_gradients(i)).data());
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
    const int64_t applied = held_.begin()->first;
    held_.erase(held_.begin());
    // Every clock up to `applied` is in: a consistent cut at applied + 1.
    if (checkpoint_every_ > 0 && (applied + 1) % checkpoint_every_ == 0) MaybeCheckpoint(applied + 1);
  }
}

}  // namespace petrel::server

#include "worker/round_upload.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "common/federated/secure_agg.h"

namespace petrel::worker {

absl::StatusOr<RoundUpload> BuildRoundUpload(const std::vector<std::vector<float>>& global,
                                             const std::vector<std::vector<float>>& local,
                                             const UploadOptions& options) {
  if (global.size() != local.size()) {
    return absl::InvalidArgumentError(absl::StrCat("the local model has ", local.size(),
                                                   " tables, the global one ", global.size()));
  }
  double squares = 0;
  for (size_t t = 0; t < global.size(); ++t) {
    if (global[t].size() != local[t].size()) {
      return absl::InvalidArgumentError(absl::StrCat("table ", t, " has ", local[t].size(),
                                                     " local and ", global[t].size(),
                                                     " global values"));
    }
    for (size_t k = 0; k < global[t].size(); ++k) {
      const double d = double{local[t][k]} - global[t][k];
      squares += d * d;
    }
  }
  RoundUpload upload;
  upload.delta_norm = std::sqrt(squares);
  if (!std::isfinite(upload.delta_norm)) {
    return absl::InvalidArgumentError(
        "the local model diverged: its delta is not finite (lower federated.client_learning_rate)");
  }
  double scale = options.weight;
  if (options.clip_norm > 0 && upload.delta_norm > options.clip_norm) {
    scale *= options.clip_norm / upload.delta_norm;
    upload.clipped = true;
  }
  upload.values.resize(global.size());
  for (size_t t = 0; t < global.size(); ++t) {
    std::vector<uint64_t>& out = upload.values[t];
    out.resize(global[t].size());
    for (size_t k = 0; k < out.size(); ++k) {
      out[k] = secagg::EncodeFixed(scale * (double{local[t][k]} - global[t][k]));
    }
  }
  upload.weight = secagg::EncodeFixed(options.weight);
  for (const auto& [peer, seed] : options.peer_seeds) {
    const int sign = secagg::MaskSign(options.self, peer);
    for (size_t t = 0; t < upload.values.size(); ++t) {
      secagg::ApplyMask(seed, static_cast<uint32_t>(t), 0, sign, absl::MakeSpan(upload.values[t]));
    }
    secagg::ApplyMask(seed, secagg::kWeightStream, 0, sign, absl::MakeSpan(&upload.weight, 1));
  }
  return upload;
}

}  // namespace petrel::worker

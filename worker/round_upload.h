// What a federated worker sends at the end of its local training in a round
// (docs/federated.md): its model delta, clipped under differential privacy,
// weighted, in fixed point, and masked under secure aggregation so that only
// the sum of the round's uploads means anything.
#ifndef PETREL_WORKER_ROUND_UPLOAD_H_
#define PETREL_WORKER_ROUND_UPLOAD_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace petrel::worker {

struct RoundUpload {
  std::vector<std::vector<uint64_t>> values;  // per table, fixed point (masked)
  uint64_t weight = 0;                        // fixed point (masked)
  double delta_norm = 0;                      // L2 norm of the delta before clipping
  bool clipped = false;
};

struct UploadOptions {
  // Each update counts with this weight (the worker's example count; 1
  // under DP, so that one worker's influence is bounded by clip_norm).
  double weight = 1;
  double clip_norm = 0;  // > 0: scale the delta down to this L2 norm
  // Secure aggregation: this worker's id and, for every other sampled
  // worker, its id and the pair's seed (common/secure_agg.h PairSeed).
  std::string self;
  std::vector<std::pair<std::string, std::string>> peer_seeds;
};

// delta = local - global, table by table (same shapes), then clip, weight,
// encode and mask. INVALID_ARGUMENT when the shapes differ or a value is not
// finite.
absl::StatusOr<RoundUpload> BuildRoundUpload(const std::vector<std::vector<float>>& global,
                                             const std::vector<std::vector<float>>& local,
                                             const UploadOptions& options);

}  // namespace petrel::worker

#endif  // PETREL_WORKER_ROUND_UPLOAD_H_

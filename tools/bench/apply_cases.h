// The server's apply, in process: one push of a whole dense table through
// server::JobShards (checks, locking and the optimizer, as petrel-server runs
// them), timed without the network.
#ifndef PETREL_TOOLS_BENCH_APPLY_CASES_H_
#define PETREL_TOOLS_BENCH_APPLY_CASES_H_

#include <string>

#include "absl/status/statusor.h"

namespace petrel::bench {

struct CaseResult {
  std::string name;
  double bytes_per_s = 0;  // payload moved (network cases); memory traffic (apply cases)
  double keys_per_s = 0;   // floats or sparse keys per second
  double p50_ms = 0, p99_ms = 0;
};

// "apply_<optimizer>_<size_tag>": `rounds` pushes of `floats` gradients to
// one table. bytes_per_s counts the memory traffic the update rule cannot avoid:
// sgd reads p and g and writes p (12 bytes per float); adam reads p, g, m, v
// and writes p, m, v (28 bytes; Petrel's per-parameter step count, which
// keeps Adam lazy for sparse rows, is extra traffic not counted).
absl::StatusOr<CaseResult> ApplyCase(const std::string& optimizer, int64_t floats, int rounds,
                                     const std::string& size_tag);

}  // namespace petrel::bench

#endif  // PETREL_TOOLS_BENCH_APPLY_CASES_H_

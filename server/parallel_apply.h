// Applies an optimizer to a large span on several threads at once. The
// update rules are elementwise, so cutting the span changes no result bit;
// the pieces are big enough that starting a thread costs little next to
// updating one (tools/bench_pushpull's apply cases).
#ifndef PETREL_SERVER_PARALLEL_APPLY_H_
#define PETREL_SERVER_PARALLEL_APPLY_H_

#include "absl/types/span.h"
#include "server/optimizer.h"

namespace petrel::server {

// Spans shorter than this are applied on the calling thread alone.
inline constexpr size_t kMinFloatsPerThread = 1 << 18;

// optimizer.Apply(params, gradient, state), on up to `max_threads` threads
// (0: the machine's cores).
void ApplyInParallel(const Optimizer& optimizer, absl::Span<float> params,
                     absl::Span<const float> gradient, absl::Span<float> state,
                     int max_threads = 0);

}  // namespace petrel::server

#endif  // PETREL_SERVER_PARALLEL_APPLY_H_

#include "server/parallel_apply.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace petrel::server {

void ApplyInParallel(const Optimizer& optimizer, absl::Span<float> params,
                     absl::Span<const float> gradient, absl::Span<float> state,
                     int max_threads) {
  const size_t n = params.size();
  size_t threads = max_threads > 0 ? max_threads : std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, std::max<size_t>(1, n / kMinFloatsPerThread));
  if (threads <= 1) {
    optimizer.Apply(params, gradient, state);
    return;
  }
  const size_t slots = optimizer.StateSlots();
  // Pieces start on 64-byte boundaries of the parameters where they can.
  const size_t piece = (n / threads + 15) / 16 * 16;
  auto apply = [&](size_t begin) {
    const size_t count = std::min(piece, n - begin);
    optimizer.Apply(params.subspan(begin, count), gradient.subspan(begin, count),
                    state.subspan(begin * slots, count * slots));
  };
  std::vector<std::thread> helpers;
  for (size_t begin = piece; begin < n; begin += piece) helpers.emplace_back(apply, begin);
  apply(0);
  for (std::thread& helper : helpers) helper.join();
}

}  // namespace petrel::server

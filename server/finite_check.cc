#include "server/finite_check.h"

#include <algorithm>
#include <cmath>

namespace petrel::server {
namespace {

// Non-zero if any of n floats has an all-ones exponent (NaN or infinity).
// An OR over integer bit tests, with no early exit, so that it vectorises;
// compiled per instruction set as optimizer.cc's loops are.
__attribute__((target_clones("avx512f", "avx2", "default")))
uint32_t AnyNonFinite(const uint32_t* __restrict bits, size_t n) {
  constexpr uint32_t kExponent = 0x7f800000u;
  uint32_t any = 0;
  for (size_t i = 0; i < n; ++i) any |= static_cast<uint32_t>((bits[i] & kExponent) == kExponent);
  return any;
}

}  // namespace

int64_t FirstNonFinite(absl::Span<const float> values) {
  static_assert(sizeof(float) == sizeof(uint32_t));
  // Blocks of 16 Ki floats: a bad one is found without reading the rest.
  constexpr size_t kBlock = 1 << 14;
  for (size_t begin = 0; begin < values.size(); begin += kBlock) {
    const size_t n = std::min(kBlock, values.size() - begin);
    if (AnyNonFinite(reinterpret_cast<const uint32_t*>(values.data() + begin), n) == 0) continue;
    for (size_t i = begin; i < begin + n; ++i) {
      if (!std::isfinite(values[i])) return static_cast<int64_t>(i);
    }
  }
  return -1;
}

}  // namespace petrel::server

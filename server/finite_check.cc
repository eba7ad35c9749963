#include "server/finite_check.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace petrel::server {
namespace {

// Non-zero if any of n floats has an all-ones exponent (NaN or infinity).
// An OR over integer bit tests, with no early exit, so that it vectorises;
// compiled per instruction set as optimizer.cc's loops are.
// Reads through memcpy, which compiles to plain (unaligned) vector loads:
// the bytes may lie at any address.
__attribute__((target_clones("avx512f", "avx2", "default")))
uint32_t AnyNonFinite(const char* __restrict bytes, size_t n) {
  constexpr uint32_t kExponent = 0x7f800000u;
  uint32_t any = 0;
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, bytes + i * sizeof(bits), sizeof(bits));
    any |= static_cast<uint32_t>((bits & kExponent) == kExponent);
  }
  return any;
}

}  // namespace

int64_t FirstNonFiniteBytes(absl::string_view float_bytes) {
  static_assert(sizeof(float) == sizeof(uint32_t));
  const size_t size = float_bytes.size() / sizeof(float);
  // Blocks of 16 Ki floats: a bad one is found without reading the rest.
  constexpr size_t kBlock = 1 << 14;
  for (size_t begin = 0; begin < size; begin += kBlock) {
    const size_t n = std::min(kBlock, size - begin);
    if (AnyNonFinite(float_bytes.data() + begin * sizeof(float), n) == 0) continue;
    for (size_t i = begin; i < begin + n; ++i) {
      float value;
      std::memcpy(&value, float_bytes.data() + i * sizeof(value), sizeof(value));
      if (!std::isfinite(value)) return static_cast<int64_t>(i);
    }
  }
  return -1;
}

int64_t FirstNonFinite(absl::Span<const float> values) {
  return FirstNonFiniteBytes(absl::string_view(reinterpret_cast<const char*>(values.data()),
                                          values.size() * sizeof(float)));
}

}  // namespace petrel::server

#include "common/wire/gradient_codec.h"

#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <functional>
#include <cmath>
#include <cstring>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace petrel {
namespace {

uint32_t Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

float FromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

constexpr float kHalfMax = 65504.0f;

}  // namespace

uint16_t FloatToHalf(float value) {
  const uint16_t sign = (Bits(value) >> 16) & 0x8000;
  const float magnitude = std::fabs(value);
  if (!(magnitude < kHalfMax)) return sign | (std::isnan(value) ? 0x7e00 : 0x7bff);
  uint32_t bits = Bits(magnitude);
  if (bits < 0x38800000) {
    // Below 2^-14: a subnormal half, in units of 2^-24 (1024 of them round
    // up into the smallest normal, whose encoding is exactly 0x0400).
    return sign | static_cast<uint16_t>(std::nearbyint(magnitude * 16777216.0f));
  }
  bits += 0xfff + ((bits >> 13) & 1);  // round the 13 dropped bits to nearest even
  bits -= 112u << 23;                  // exponent bias 127 -> 15
  return sign | static_cast<uint16_t>(bits >> 13);
}

float HalfToFloat(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000) << 16;
  const uint32_t exponent = (half >> 10) & 0x1f;
  const uint32_t mantissa = half & 0x3ff;
  if (exponent == 0) {
    const float magnitude = mantissa / 16777216.0f;
    return sign ? -magnitude : magnitude;
  }
  if (exponent == 31) return FromBits(sign | 0x7f800000 | (mantissa << 13));
  return FromBits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t FloatToBfloat16(float value) {
  uint32_t bits = Bits(value);
  if (std::isnan(value)) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);
  uint16_t rounded = static_cast<uint16_t>(bits >> 16);
  if ((rounded & 0x7f80) == 0x7f80 && std::isfinite(value)) {
    rounded = (rounded & 0x8000) | 0x7f7f;  // rounded up to infinity: saturate
  }
  return rounded;
}

float Bfloat16ToFloat(uint16_t bits) { return FromBits(static_cast<uint32_t>(bits) << 16); }

GradientEncoding EncodingFor(const CompressionSpec& compression) {
  if (compression.type() == "fp16") return FLOAT16;
  if (compression.type() == "bf16") return BFLOAT16;
  if (compression.type() == "topk") return TOPK;
  return FLOAT32;
}

namespace {

// IEEE binary16 in hardware (F16C: every x86-64 CPU since 2012), 8 at a
// time; the software conversion above does the tail and older CPUs.
__attribute__((target("avx,f16c"))) void FloatsToHalvesF16c(const float* in, size_t n,
                                                             uint16_t* out) {
  const __m256 max = _mm256_set1_ps(kHalfMax), min = _mm256_set1_ps(-kHalfMax);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 clamped = _mm256_max_ps(_mm256_min_ps(_mm256_loadu_ps(in + i), max), min);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                     _mm256_cvtps_ph(clamped, _MM_FROUND_TO_NEAREST_INT));
  }
  for (; i < n; ++i) out[i] = FloatToHalf(in[i]);
}

__attribute__((target("avx,f16c"))) void HalvesToFloatsF16c(const uint16_t* in, size_t n,
                                                             float* out) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  for (; i < n; ++i) out[i] = HalfToFloat(in[i]);
}

// CPUID leaf 1, ECX: AVX and F16C (read directly: clang's
// __builtin_cpu_supports knows no "f16c").
bool HasF16c() {
  static const bool has = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    return __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_AVX) != 0 &&
           (ecx & bit_F16C) != 0;
  }();
  return has;
}

}  // namespace

void EncodeHalves(GradientEncoding encoding, absl::Span<const float> gradient, std::string* out) {
  out->resize(gradient.size() * sizeof(uint16_t));
  uint16_t* halves = reinterpret_cast<uint16_t*>(out->data());
  if (encoding == FLOAT16) {
    if (HasF16c()) {
      FloatsToHalvesF16c(gradient.data(), gradient.size(), halves);
    } else {
      for (size_t i = 0; i < gradient.size(); ++i) halves[i] = FloatToHalf(gradient[i]);
    }
  } else {
    for (size_t i = 0; i < gradient.size(); ++i) halves[i] = FloatToBfloat16(gradient[i]);
  }
}

void EncodeTopK(absl::Span<const float> gradient, double ratio, absl::Span<float> residual,
                std::string* out) {
  const size_t n = gradient.size();
  for (size_t i = 0; i < n; ++i) residual[i] += gradient[i];
  const size_t k = n == 0 ? 0 : std::min(n, static_cast<size_t>(std::ceil(ratio * n)));
  out->resize(k * (sizeof(uint32_t) + sizeof(float)));
  if (k == 0) return;
  // The k-th largest magnitude, found on a contiguous copy (fast), then one
  // pass in offset order: everything above it, and as many equal to it as
  // make k, lowest offsets first, so the choice is deterministic.
  std::vector<float> magnitudes(n);
  for (size_t i = 0; i < n; ++i) magnitudes[i] = std::fabs(residual[i]);
  std::nth_element(magnitudes.begin(), magnitudes.begin() + (k - 1), magnitudes.end(),
                   std::greater<float>());
  const float threshold = magnitudes[k - 1];
  size_t above = 0;
  for (size_t i = 0; i < n; ++i) above += std::fabs(residual[i]) > threshold;
  size_t equal_wanted = k - above;
  uint32_t* offsets = reinterpret_cast<uint32_t*>(out->data());
  float* values = reinterpret_cast<float*>(out->data() + k * sizeof(uint32_t));
  size_t j = 0;
  for (size_t i = 0; i < n && j < k; ++i) {
    const float magnitude = std::fabs(residual[i]);
    if (magnitude > threshold || (magnitude == threshold && equal_wanted > 0)) {
      if (!(magnitude > threshold)) --equal_wanted;
      offsets[j] = static_cast<uint32_t>(i);
      values[j] = residual[i];
      residual[i] = 0.0f;
      ++j;
    }
  }
}

absl::Status DecodeGradient(GradientEncoding encoding, absl::string_view bytes, int64_t n,
                            std::vector<float>* out) {
  if (n < 0) return absl::InvalidArgumentError(absl::StrCat("a slice of ", n, " elements"));
  out->clear();
  switch (encoding) {
    case FLOAT32:
      if (static_cast<int64_t>(bytes.size()) != n * 4) break;
      out->resize(n);
      if (n > 0) std::memcpy(out->data(), bytes.data(), bytes.size());
      return absl::OkStatus();
    case FLOAT16:
    case BFLOAT16: {
      if (static_cast<int64_t>(bytes.size()) != n * 2) break;
      out->resize(n);
      const uint16_t* halves = reinterpret_cast<const uint16_t*>(bytes.data());
      if (encoding == FLOAT16 && HasF16c()) {
        HalvesToFloatsF16c(halves, n, out->data());
      } else {
        for (int64_t i = 0; i < n; ++i) {
          (*out)[i] = encoding == FLOAT16 ? HalfToFloat(halves[i]) : Bfloat16ToFloat(halves[i]);
        }
      }
      return absl::OkStatus();
    }
    case TOPK: {
      if (bytes.size() % 8 != 0 || static_cast<int64_t>(bytes.size() / 8) > n) break;
      out->assign(n, 0.0f);  // the caller bounds n by the range it holds
      const size_t k = bytes.size() / 8;
      const uint32_t* offsets = reinterpret_cast<const uint32_t*>(bytes.data());
      const float* values = reinterpret_cast<const float*>(bytes.data() + k * 4);
      for (size_t j = 0; j < k; ++j) {
        if (offsets[j] >= n || (j > 0 && offsets[j] <= offsets[j - 1])) {
          return absl::InvalidArgumentError(absl::StrCat(
              "top-k gradient: offset ", offsets[j], " at position ", j,
              " is not strictly increasing and below the slice's ", n, " elements"));
        }
        (*out)[offsets[j]] = values[j];
      }
      return absl::OkStatus();
    }
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown gradient encoding ", static_cast<int>(encoding)));
  }
  const char* per = encoding == TOPK ? "8 per kept element (at most n)"
                    : encoding == FLOAT32 ? "4 per element" : "2 per element";
  return absl::InvalidArgumentError(absl::StrCat("a ", GradientEncoding_Name(encoding),
                                                 " gradient of ", n, " elements has ",
                                                 bytes.size(), " bytes; expected ", per));
}

}  // namespace petrel

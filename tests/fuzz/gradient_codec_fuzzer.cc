// Fuzzes the gradient codec (common/gradient_codec.h): the server decodes
// whatever a push carries with DecodeGradient, and workers encode their
// gradients with EncodeHalves and EncodeTopK.
// Input: byte 0 the encoding (any value, unknown ones included), bytes 1-2
// the slice's element count n (little-endian int16: negative counts are
// tried too), byte 3 the top-k ratio in 256ths; the rest is the payload.
// Invariants: a decoded slice has n finite-or-not floats and, for TOPK, at
// most k of them set; encoding a finite gradient gives finite values; top-k
// with error feedback loses nothing: sent + new residual == old residual +
// gradient, element by element.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/types/span.h"
#include "common/wire/gradient_codec.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4) return 0;
  const auto encoding = static_cast<petrel::GradientEncoding>(data[0] % 6);
  const int64_t n = static_cast<int16_t>(data[1] | (data[2] << 8));
  const double ratio = (1 + data[3]) / 256.0;
  const std::string payload(reinterpret_cast<const char*>(data + 4), size - 4);

  // The server's side: any bytes, any count.
  std::vector<float> decoded;
  const absl::Status status = petrel::DecodeGradient(encoding, payload, n, &decoded);
  if (status.ok()) {
    PETREL_FUZZ_CHECK(static_cast<int64_t>(decoded.size()) == n);
    if (encoding == petrel::TOPK) {
      int64_t set = 0;
      for (float value : decoded) set += value != 0.0f;
      PETREL_FUZZ_CHECK(set <= static_cast<int64_t>(payload.size() / 8));
    }
  } else {
    PETREL_FUZZ_CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  }

  // The worker's side: the payload read as a float32 gradient.
  std::vector<float> gradient(payload.size() / 4);
  if (!gradient.empty()) std::memcpy(gradient.data(), payload.data(), gradient.size() * 4);
  for (float& value : gradient) {
    if (!std::isfinite(value)) value = 0.0f;  // workers push finite gradients only
  }
  const int64_t count = static_cast<int64_t>(gradient.size());
  for (petrel::GradientEncoding halves : {petrel::FLOAT16, petrel::BFLOAT16}) {
    std::string encoded;
    petrel::EncodeHalves(halves, gradient, &encoded);
    std::vector<float> back;
    PETREL_FUZZ_CHECK(petrel::DecodeGradient(halves, encoded, count, &back).ok());
    for (int64_t i = 0; i < count; ++i) {
      PETREL_FUZZ_CHECK(std::isfinite(back[i]));
      // Rounding keeps the sign (or gives zero).
      PETREL_FUZZ_CHECK(back[i] == 0.0f || std::signbit(back[i]) == std::signbit(gradient[i]));
    }
  }
  std::vector<float> residual(count, 0.0f);
  // A second step on top of the first exercises the feedback.
  for (int step = 0; step < 2; ++step) {
    const std::vector<float> before = residual;
    std::string encoded;
    petrel::EncodeTopK(gradient, ratio, absl::MakeSpan(residual), &encoded);
    std::vector<float> sent;
    PETREL_FUZZ_CHECK(petrel::DecodeGradient(petrel::TOPK, encoded, count, &sent).ok());
    for (int64_t i = 0; i < count; ++i) {
      const float expected = before[i] + gradient[i];
      // Exactly one of the two holds the element; compare bits, not values,
      // where both are zero with different signs.
      PETREL_FUZZ_CHECK(sent[i] == 0.0f || residual[i] == 0.0f);
      PETREL_FUZZ_CHECK(sent[i] + residual[i] == expected || std::isnan(expected));
    }
  }
  return 0;
}

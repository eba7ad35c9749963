#define CATCH_CONFIG_MAIN
#include "common/wire/gradient_codec.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "catch2/catch.hpp"

namespace petrel {
namespace {

TEST_CASE("fp16 is exact where binary16 is, rounds to nearest even, and saturates") {
  for (float exact : {0.0f, 1.0f, -2.0f, 0.5f, 65504.0f, -65504.0f, 6.103515625e-05f /*2^-14*/,
                      5.9604644775390625e-08f /*2^-24, smallest subnormal*/, 1.0009765625f}) {
    INFO(exact);
    CHECK(HalfToFloat(FloatToHalf(exact)) == exact);
  }
  CHECK(FloatToHalf(1.0f) == 0x3c00);
  CHECK(FloatToHalf(-2.0f) == 0xc000);
  // 1 + 2^-11 lies halfway between 1 and 1 + 2^-10: ties go to the even 1.
  CHECK(FloatToHalf(1.00048828125f) == 0x3c00);
  CHECK(FloatToHalf(1.00146484375f) == 0x3c02);  // 1 + 3*2^-11: up to the even neighbour
  CHECK(FloatToHalf(1e6f) == 0x7bff);   // saturates, stays finite
  CHECK(FloatToHalf(-1e6f) == 0xfbff);
  CHECK(FloatToHalf(1e-9f) == 0x0000);  // below half the smallest subnormal
  std::mt19937 random(1);
  std::uniform_real_distribution<float> value(-100.0f, 100.0f);
  for (int i = 0; i < 10000; ++i) {
    const float x = value(random);
    CHECK(std::fabs(HalfToFloat(FloatToHalf(x)) - x) <= std::fabs(x) * 0x1p-11f + 0x1p-25f);
  }
}

TEST_CASE("bf16 keeps float32's range with 8 bits of precision") {
  CHECK(Bfloat16ToFloat(FloatToBfloat16(1.0f)) == 1.0f);
  CHECK(Bfloat16ToFloat(FloatToBfloat16(-3.0e38f)) == Approx(-3.0e38f).epsilon(0.01));
  CHECK(std::isfinite(Bfloat16ToFloat(FloatToBfloat16(std::numeric_limits<float>::max()))));
  CHECK(FloatToBfloat16(1.00390625f) == 0x3f80);  // 1 + 2^-8: a tie, to even
  std::mt19937 random(2);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  for (int i = 0; i < 10000; ++i) {
    const float x = value(random);
    CHECK(std::fabs(Bfloat16ToFloat(FloatToBfloat16(x)) - x) <= std::fabs(x) * 0x1p-8f);
  }
}

TEST_CASE("half encodings round-trip through DecodeGradient") {
  const std::vector<float> gradient = {0.25f, -1.5f, 3.0f};
  for (GradientEncoding encoding : {FLOAT16, BFLOAT16}) {
    std::string bytes;
    EncodeHalves(encoding, gradient, &bytes);
    CHECK(bytes.size() == 6);
    std::vector<float> decoded;
    REQUIRE(DecodeGradient(encoding, bytes, 3, &decoded).ok());
    CHECK(decoded == gradient);
    absl::Status wrong = DecodeGradient(encoding, bytes, 4, &decoded);
    CHECK(wrong.code() == absl::StatusCode::kInvalidArgument);
    CHECK(wrong.message().find("2 per element") != std::string::npos);
  }
}

TEST_CASE("the hardware fp16 path agrees with the software one, bit for bit") {
  // Every binary16 code decodes the same either way...
  std::vector<float> all;
  std::string codes(65536 * 2, '\0');
  for (uint32_t h = 0; h < 65536; ++h) {
    std::memcpy(codes.data() + 2 * h, &h, 2);
  }
  REQUIRE(DecodeGradient(FLOAT16, codes, 65536, &all).ok());
  for (uint32_t h = 0; h < 65536; ++h) {
    const float soft = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(soft)) continue;
    INFO("code " << h);
    REQUIRE(std::memcmp(&all[h], &soft, 4) == 0);
  }
  // ...and floats encode the same, ties, subnormals and saturation included.
  std::vector<float> values = {1.00048828125f, 1.00146484375f, 1e6f, -1e6f, 65519.0f, 1e-9f,
                               3e-8f, -6.1e-5f, 0.0f, -0.0f};
  std::mt19937 random(3);
  std::uniform_real_distribution<float> exponent(-30.0f, 20.0f);
  for (int i = 0; i < 20000; ++i) {
    values.push_back((i % 2 ? 1 : -1) * std::exp2(exponent(random)));
  }
  std::string encoded;
  EncodeHalves(FLOAT16, values, &encoded);
  for (size_t i = 0; i < values.size(); ++i) {
    uint16_t hard;
    std::memcpy(&hard, encoded.data() + 2 * i, 2);
    INFO("value " << values[i]);
    REQUIRE(hard == FloatToHalf(values[i]));
  }
}

TEST_CASE("top-k sends the largest elements and feeds the rest back") {
  std::vector<float> residual(10, 0.0f);
  const std::vector<float> g = {0.1f, -5.0f, 0.2f, 3.0f, 0.0f, 0.0f, -0.3f, 0.0f, 0.0f, 4.0f};
  std::string bytes;
  EncodeTopK(g, 0.3, absl::MakeSpan(residual), &bytes);  // k = 3
  REQUIRE(bytes.size() == 3 * 8);
  std::vector<float> sent;
  REQUIRE(DecodeGradient(TOPK, bytes, 10, &sent).ok());
  CHECK(sent == std::vector<float>{0, -5.0f, 0, 3.0f, 0, 0, 0, 0, 0, 4.0f});
  // What was not sent waits in the residual...
  CHECK(residual == std::vector<float>{0.1f, 0, 0.2f, 0, 0, 0, -0.3f, 0, 0, 0});
  // ...and goes out once it has grown.
  EncodeTopK(std::vector<float>(10, 0.0f), 0.3, absl::MakeSpan(residual), &bytes);
  REQUIRE(DecodeGradient(TOPK, bytes, 10, &sent).ok());
  CHECK(sent == std::vector<float>{0.1f, 0, 0.2f, 0, 0, 0, -0.3f, 0, 0, 0});
  // Sent plus residual always equals everything pushed so far.
  CHECK(residual == std::vector<float>(10, 0.0f));
}

TEST_CASE("malformed top-k gradients are refused") {
  std::vector<float> out;
  auto topk = [](std::vector<uint32_t> offsets) {
    std::string bytes(offsets.size() * 8, '\0');
    std::memcpy(bytes.data(), offsets.data(), offsets.size() * 4);
    return bytes;
  };
  CHECK(DecodeGradient(TOPK, topk({0, 5}), 10, &out).ok());
  CHECK(DecodeGradient(TOPK, topk({5, 5}), 10, &out).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(DecodeGradient(TOPK, topk({3, 1}), 10, &out).code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(DecodeGradient(TOPK, topk({10}), 10, &out).code() == absl::StatusCode::kInvalidArgument);
  CHECK(DecodeGradient(TOPK, std::string(7, '\0'), 10, &out).code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace petrel

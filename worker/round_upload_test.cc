#define CATCH_CONFIG_MAIN
#include "worker/round_upload.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/federated/secure_agg.h"

namespace petrel::worker {
namespace {

using Tables = std::vector<std::vector<float>>;

Tables RandomTables(std::mt19937& rng, float scale) {
  std::normal_distribution<float> normal(0, scale);
  Tables tables = {std::vector<float>(50), std::vector<float>(7)};
  for (auto& table : tables) {
    for (float& v : table) v = normal(rng);
  }
  return tables;
}

TEST_CASE("a plain upload is the weighted delta in fixed point") {
  std::mt19937 rng(1);
  const Tables global = RandomTables(rng, 1), local = RandomTables(rng, 1);
  UploadOptions options;
  options.weight = 300;
  auto upload = BuildRoundUpload(global, local, options);
  REQUIRE(upload.ok());
  CHECK_FALSE(upload->clipped);
  CHECK(secagg::DecodeFixed(upload->weight) == Approx(300));
  for (size_t t = 0; t < global.size(); ++t) {
    for (size_t k = 0; k < global[t].size(); ++k) {
      CHECK(secagg::DecodeFixed(upload->values[t][k]) ==
            Approx(300.0 * (double{local[t][k]} - global[t][k])).margin(1e-6));
    }
  }
}

TEST_CASE("clipping scales the delta down to the clip norm") {
  std::mt19937 rng(2);
  const Tables global = RandomTables(rng, 1), local = RandomTables(rng, 1);
  UploadOptions options;
  options.clip_norm = 0.5;
  auto upload = BuildRoundUpload(global, local, options);
  REQUIRE(upload.ok());
  CHECK(upload->clipped);
  CHECK(upload->delta_norm > 0.5);
  double squares = 0;
  for (const auto& table : upload->values) {
    for (uint64_t v : table) squares += std::pow(secagg::DecodeFixed(v), 2);
  }
  CHECK(std::sqrt(squares) == Approx(0.5).epsilon(1e-4));
}

TEST_CASE("three masked uploads sum to the plain weighted sum") {
  const std::vector<std::string> ids = {"worker-a", "worker-b", "worker-c"};
  std::vector<secagg::KeyPair> keys;
  for (size_t i = 0; i < ids.size(); ++i) keys.push_back(*secagg::GenerateKeyPair());
  std::mt19937 rng(3);
  const Tables global = RandomTables(rng, 1);
  std::vector<uint64_t> sum(50, 0);
  uint64_t weight = 0;
  double expected_weight = 0;
  std::vector<double> expected(50, 0);
  for (size_t i = 0; i < ids.size(); ++i) {
    const Tables local = RandomTables(rng, 1);
    UploadOptions options;
    options.self = ids[i];
    options.weight = 10.0 * (i + 1);
    for (size_t j = 0; j < ids.size(); ++j) {
      if (j == i) continue;
      options.peer_seeds.emplace_back(
          ids[j], *secagg::PairSeed(keys[i].private_key, keys[j].public_key, "job-9", 0));
    }
    auto upload = BuildRoundUpload(global, local, options);
    REQUIRE(upload.ok());
    // Masked: the words are not the plain encoding.
    CHECK(upload->values[0][0] !=
          secagg::EncodeFixed(options.weight * (double{local[0][0]} - global[0][0])));
    for (size_t k = 0; k < 50; ++k) {
      sum[k] += upload->values[0][k];
      expected[k] += options.weight * (double{local[0][k]} - global[0][k]);
    }
    weight += upload->weight;
    expected_weight += options.weight;
  }
  CHECK(secagg::DecodeFixed(weight) == Approx(expected_weight));
  for (size_t k = 0; k < 50; ++k) {
    CHECK(secagg::DecodeFixed(sum[k]) == Approx(expected[k]).margin(1e-5));
  }
}

TEST_CASE("mismatched or diverged models are refused") {
  std::mt19937 rng(4);
  const Tables global = RandomTables(rng, 1);
  Tables local = global;
  local[1].pop_back();
  CHECK(BuildRoundUpload(global, local, {}).status().code() == absl::StatusCode::kInvalidArgument);
  local = global;
  local[0][3] = NAN;
  auto diverged = BuildRoundUpload(global, local, {});
  CHECK(diverged.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(diverged.status().message().find("diverged") != std::string::npos);
}

}  // namespace
}  // namespace petrel::worker

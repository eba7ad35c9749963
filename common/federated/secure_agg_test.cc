#define CATCH_CONFIG_MAIN
#include "catch2/catch.hpp"
#include "common/federated/secure_agg.h"

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace petrel::secagg {
namespace {

constexpr double kUlp = 1.0 / (1 << kFractionBits);  // 2^-24

std::vector<uint64_t> Stream(const std::string& seed, uint32_t stream, int64_t begin,
                             size_t size) {
  std::vector<uint64_t> out(size, 0);
  ApplyMask(seed, stream, begin, +1, absl::MakeSpan(out));
  return out;
}

TEST_CASE("fixed point round-trips within 2^-24, negatives included") {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> uniform(-1000.0, 1000.0);
  for (int i = 0; i < 10000; ++i) {
    const double value = uniform(rng);
    CHECK(std::abs(DecodeFixed(EncodeFixed(value)) - value) <= kUlp / 2);
  }
  CHECK(EncodeFixed(-1.0) == ~uint64_t{0} - ((uint64_t{1} << kFractionBits) - 1));
  CHECK(DecodeFixed(EncodeFixed(-2.5)) == -2.5);
  CHECK(DecodeFixed(EncodeFixed(0.0)) == 0.0);
  CHECK(EncodeFixed(std::nan("")) == 0);
  CHECK(DecodeFixed(EncodeFixed(1e300)) > 0);  // saturates, does not wrap
  CHECK(DecodeFixed(EncodeFixed(-1e300)) < 0);
}

TEST_CASE("the mod-2^64 sum of encodings decodes to the sum of the values") {
  std::mt19937_64 rng(2);
  std::normal_distribution<double> normal(0.0, 100.0);
  uint64_t sum = 0;
  double plain = 0;
  for (int i = 0; i < 1000; ++i) {
    const double value = normal(rng);
    sum += EncodeFixed(value);
    plain += value;
  }
  CHECK(std::abs(DecodeFixed(sum) - plain) <= 1000 * kUlp / 2);
}

TEST_CASE("both workers of a pair derive the same seed, fresh per round and job") {
  auto a = GenerateKeyPair();
  auto b = GenerateKeyPair();
  auto c = GenerateKeyPair();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(a->public_key.size() == 32);
  CHECK(a->private_key.size() == 32);
  CHECK(a->public_key != b->public_key);

  auto ab = PairSeed(a->private_key, b->public_key, "job", 7);
  auto ba = PairSeed(b->private_key, a->public_key, "job", 7);
  REQUIRE(ab.ok());
  REQUIRE(ba.ok());
  CHECK(ab->size() == 32);
  CHECK(*ab == *ba);
  CHECK(*PairSeed(a->private_key, b->public_key, "job", 8) != *ab);
  CHECK(*PairSeed(a->private_key, b->public_key, "job2", 7) != *ab);
  CHECK(*PairSeed(a->private_key, c->public_key, "job", 7) != *ab);
}

TEST_CASE("bad peer keys are refused") {
  auto a = GenerateKeyPair();
  REQUIRE(a.ok());
  auto short_key = PairSeed(a->private_key, std::string(31, 'x'), "job", 1);
  CHECK(short_key.status().code() == absl::StatusCode::kInvalidArgument);
  // The all-zero point has order 1: its shared secret is all zeros.
  auto zero_key = PairSeed(a->private_key, std::string(32, '\0'), "job", 1);
  CHECK(zero_key.status().code() == absl::StatusCode::kInvalidArgument);
  auto bad_private = PairSeed(std::string(5, 'x'), a->public_key, "job", 1);
  CHECK(bad_private.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("mask signs are opposite for the two workers of a pair") {
  CHECK(MaskSign("w0", "w1") == 1);
  CHECK(MaskSign("w1", "w0") == -1);
}

TEST_CASE("the stream is RFC 8439 ChaCha20 read as little-endian uint64s") {
  // RFC 8439 appendix A.1, test vectors 1 and 2: zero key, zero nonce (stream
  // 0), block counters 0 and 1.
  const std::string zero_seed(32, '\0');
  const std::vector<uint64_t> words = Stream(zero_seed, 0, 0, 9);
  CHECK(words[0] == 0x903df1a0ade0b876ull);  // 76 b8 e0 ad a0 f1 3d 90
  CHECK(words[8] == 0x7a385155bee7079full);  // 9f 07 e7 be 55 51 38 7a
  CHECK(Stream(zero_seed, 0, 8, 1)[0] == 0x7a385155bee7079full);
}

TEST_CASE("any slice of a stream equals the same elements of the whole stream") {
  const std::string seed(32, '\x5a');
  const std::vector<uint64_t> whole = Stream(seed, 3, 0, 20000);
  const std::vector<std::pair<int64_t, int64_t>> slices = {
      {0, 1}, {1, 2}, {3, 17}, {7, 8}, {8, 16}, {13, 999}, {5, 5}, {4095, 4097},
      {2047, 6151}, {9999, 20000}, {0, 20000}};
  for (const auto& [begin, end] : slices) {
    const std::vector<uint64_t> slice = Stream(seed, 3, begin, end - begin);
    CAPTURE(begin, end);
    CHECK(std::equal(slice.begin(), slice.end(), whole.begin() + begin));
  }
  // Adding and subtracting cancel; the mask adds to what `out` holds.
  std::vector<uint64_t> values = {1, 2, 3, 4, 5};
  ApplyMask(seed, 3, 11, +1, absl::MakeSpan(values));
  CHECK(values[2] == 3 + whole[13]);
  ApplyMask(seed, 3, 11, -1, absl::MakeSpan(values));
  CHECK(values == std::vector<uint64_t>{1, 2, 3, 4, 5});

  CHECK(Stream(seed, 4, 0, 64) != Stream(seed, 3, 0, 64));
  CHECK(Stream(seed, kWeightStream, 0, 64) != Stream(seed, 3, 0, 64));
  CHECK(Stream(std::string(32, '\x5b'), 3, 0, 64) != Stream(seed, 3, 0, 64));
}

// Five workers, their keys, their updates (values ~N(0,1) scaled by each
// worker's weight) and their masked uploads.
struct Simulation {
  static constexpr int kWorkers = 5;
  static constexpr size_t kElements = 10000;
  static constexpr uint32_t kTable = 0;
  std::vector<std::string> ids;
  std::vector<KeyPair> keys;
  std::vector<double> weights;
  std::vector<std::vector<double>> updates;
  std::vector<std::vector<uint64_t>> uploads;
  std::vector<uint64_t> weight_uploads;

  std::string Seed(int self, int peer) const {
    auto seed = PairSeed(keys[self].private_key, keys[peer].public_key, "fl-job", 3);
    REQUIRE(seed.ok());
    return *seed;
  }

  Simulation() {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> uniform(1.0, 100.0);
    for (int w = 0; w < kWorkers; ++w) {
      ids.push_back("worker-" + std::to_string(w));
      auto pair = GenerateKeyPair();
      REQUIRE(pair.ok());
      keys.push_back(*pair);
      weights.push_back(uniform(rng));
      std::vector<double> update(kElements);
      for (double& value : update) value = normal(rng) * weights.back();
      updates.push_back(update);
    }
    for (int w = 0; w < kWorkers; ++w) {
      std::vector<uint64_t> upload(kElements);
      for (size_t i = 0; i < kElements; ++i) upload[i] = EncodeFixed(updates[w][i]);
      uint64_t weight = EncodeFixed(weights[w]);
      for (int peer = 0; peer < kWorkers; ++peer) {
        if (peer == w) continue;
        const std::string seed = Seed(w, peer);
        const int sign = MaskSign(ids[w], ids[peer]);
        ApplyMask(seed, kTable, 0, sign, absl::MakeSpan(upload));
        ApplyMask(seed, kWeightStream, 0, sign, absl::MakeSpan(&weight, 1));
      }
      uploads.push_back(upload);
      weight_uploads.push_back(weight);
    }
  }
};

TEST_CASE("pairwise masks cancel in the server's sum, and dropouts can be recovered") {
  const Simulation sim;
  constexpr int n = Simulation::kWorkers;

  SECTION("all five workers upload") {
    std::vector<uint64_t> sum(Simulation::kElements, 0);
    uint64_t weight_sum = 0;
    double plain_weight = 0;
    for (int w = 0; w < n; ++w) {
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += sim.uploads[w][i];
      weight_sum += sim.weight_uploads[w];
      plain_weight += sim.weights[w];
    }
    double worst = 0;
    for (size_t i = 0; i < sum.size(); ++i) {
      double plain = 0;
      for (int w = 0; w < n; ++w) plain += sim.updates[w][i];
      worst = std::max(worst, std::abs(DecodeFixed(sum[i]) - plain));
    }
    CHECK(worst <= n * kUlp);
    CHECK(std::abs(DecodeFixed(weight_sum) - plain_weight) <= n * kUlp);
  }

  SECTION("worker 4 drops after the others masked") {
    constexpr int dropped = n - 1;
    std::vector<uint64_t> sum(Simulation::kElements, 0);
    for (int s = 0; s < dropped; ++s) {
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += sim.uploads[s][i];
    }
    // The server regenerates each survivor's mask with the dropped worker
    // (here from the dropped worker's side of the pair: the same seed) and
    // takes it out.
    for (int s = 0; s < dropped; ++s) {
      const std::string seed = sim.Seed(dropped, s);
      ApplyMask(seed, Simulation::kTable, 0, -MaskSign(sim.ids[s], sim.ids[dropped]),
                absl::MakeSpan(sum));
    }
    double worst = 0;
    for (size_t i = 0; i < sum.size(); ++i) {
      double plain = 0;
      for (int s = 0; s < dropped; ++s) plain += sim.updates[s][i];
      worst = std::max(worst, std::abs(DecodeFixed(sum[i]) - plain));
    }
    CHECK(worst <= dropped * kUlp);

    // A server holding only the slice [3001, 7777) regenerates just that.
    const int64_t begin = 3001, end = 7777;
    std::vector<uint64_t> slice(end - begin, 0);
    for (int s = 0; s < dropped; ++s) {
      for (int64_t i = begin; i < end; ++i) slice[i - begin] += sim.uploads[s][i];
    }
    for (int s = 0; s < dropped; ++s) {
      ApplyMask(sim.Seed(s, dropped), Simulation::kTable, begin,
                -MaskSign(sim.ids[s], sim.ids[dropped]), absl::MakeSpan(slice));
    }
    CHECK(std::equal(slice.begin(), slice.end(), sum.begin() + begin));
  }
}

TEST_CASE("a single masked upload says nothing about its update") {
  const Simulation sim;
  const std::vector<double>& update = sim.updates[0];
  const std::vector<uint64_t>& upload = sim.uploads[0];
  const size_t n = update.size();

  // (a) No linear relation between the update and the masked words.
  std::vector<double> masked(n);
  for (size_t i = 0; i < n; ++i) masked[i] = static_cast<double>(static_cast<int64_t>(upload[i]));
  double mean_x = 0, mean_y = 0;
  for (size_t i = 0; i < n; ++i) {
    mean_x += update[i] / n;
    mean_y += masked[i] / n;
  }
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (update[i] - mean_x) * (masked[i] - mean_y);
    sxx += (update[i] - mean_x) * (update[i] - mean_x);
    syy += (masked[i] - mean_y) * (masked[i] - mean_y);
  }
  const double correlation = sxy / std::sqrt(sxx * syy);
  INFO("Pearson correlation " << correlation);
  CHECK(std::abs(correlation) < 0.05);

  // (b) The top byte, which in an unmasked encoding is almost always 0x00 or
  // 0xff, is uniform: chi-square over 256 bins, 255 dof, p ~ 0.001 at 330.
  std::vector<int> bins(256, 0);
  for (uint64_t word : upload) ++bins[word >> 56];
  const double expected = static_cast<double>(n) / 256;
  double chi_square = 0;
  for (int count : bins) chi_square += (count - expected) * (count - expected) / expected;
  INFO("chi-square " << chi_square);
  CHECK(chi_square < 330);

  // (c) Why the round is in the seed: two updates masked with the same seeds
  // differ by exactly the difference of their encodings.
  std::vector<uint64_t> other(n);
  for (size_t i = 0; i < n; ++i) other[i] = EncodeFixed(sim.updates[1][i]);
  std::vector<uint64_t> other_masked = other;
  for (int peer = 1; peer < Simulation::kWorkers; ++peer) {
    ApplyMask(sim.Seed(0, peer), Simulation::kTable, 0, MaskSign(sim.ids[0], sim.ids[peer]),
              absl::MakeSpan(other_masked));
  }
  for (size_t i = 0; i < 100; ++i) {
    CHECK(upload[i] - other_masked[i] == EncodeFixed(update[i]) - other[i]);
  }
}

}  // namespace
}  // namespace petrel::secagg

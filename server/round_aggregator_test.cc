#define CATCH_CONFIG_MAIN
#include "server/round_aggregator.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/federated/secure_agg.h"

namespace petrel::server {
namespace {

using secagg::EncodeFixed;

// This server holds [0, 6) of table "a" (stream 0) and [2, 5) of "b" (stream 1).
std::vector<RoundAggregator::RangeLayout> Layout() {
  return {{"a", 0, 0, 6}, {"b", 1, 2, 5}};
}

std::string Words(const std::vector<uint64_t>& words) {
  return std::string(reinterpret_cast<const char*>(words.data()), words.size() * 8);
}

// One worker's upload of `update` (per range, unweighted delta) with weight
// `weight`, masked against `peers` (worker -> pair seed) when given.
PushRequest Upload(int64_t round, const std::string& worker,
                   const std::vector<std::vector<double>>& update, double weight,
                   const std::map<std::string, std::string>& peers = {}) {
  PushRequest request;
  request.set_clock(round);
  request.set_worker_id(worker);
  request.set_encoding(FIXED64);
  const auto layout = Layout();
  uint64_t w = EncodeFixed(weight);
  for (size_t r = 0; r < layout.size(); ++r) {
    std::vector<uint64_t> words;
    for (double v : update[r]) words.push_back(EncodeFixed(weight * v));
    for (const auto& [peer, seed] : peers) {
      secagg::ApplyMask(seed, layout[r].stream, layout[r].begin, secagg::MaskSign(worker, peer),
                        absl::MakeSpan(words));
    }
    Slice* slice = request.add_slices();
    slice->set_table(layout[r].table);
    slice->set_begin(layout[r].begin);
    slice->set_end(layout[r].end);
    request.add_gradients(Words(words));
  }
  for (const auto& [peer, seed] : peers) {
    secagg::ApplyMask(seed, secagg::kWeightStream, 0, secagg::MaskSign(worker, peer),
                      absl::MakeSpan(&w, 1));
  }
  request.set_weight(Words({w}));
  return request;
}

std::vector<std::vector<double>> RandomUpdate(std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0, 0.1);
  std::vector<std::vector<double>> update = {std::vector<double>(6), std::vector<double>(3)};
  for (auto& range : update) {
    for (double& v : range) v = normal(rng);
  }
  return update;
}

CloseRoundRequest Close(int64_t round, std::vector<std::string> contributors) {
  CloseRoundRequest request;
  request.set_round(round);
  for (const std::string& worker : contributors) request.add_contributors(worker);
  return request;
}

TEST_CASE("a round's weighted mean of plain uploads") {
  RoundAggregator rounds(Layout());
  std::mt19937_64 rng(7);
  const std::vector<double> weights = {100, 300, 600};
  std::vector<std::vector<std::vector<double>>> updates;
  for (int w = 0; w < 3; ++w) {
    updates.push_back(RandomUpdate(rng));
    REQUIRE(rounds.Add(Upload(0, "w" + std::to_string(w), updates[w], weights[w])).ok());
  }
  auto result = rounds.Close(Close(0, {"w0", "w1", "w2"}), {});
  REQUIRE(result.ok());
  CHECK(result->weight == Approx(1000));
  for (size_t r = 0; r < 2; ++r) {
    for (size_t k = 0; k < updates[0][r].size(); ++k) {
      double expected = 0;
      for (int w = 0; w < 3; ++w) expected += weights[w] * updates[w][r][k];
      CHECK(result->mean_delta[r][k] == Approx(expected / 1000).margin(1e-6));
    }
  }
  CHECK(rounds.open_round() == 1);
  // A retried close changes nothing; a late upload is refused.
  CHECK(rounds.Close(Close(0, {"w0"}), {}).status().code() == absl::StatusCode::kAlreadyExists);
  CHECK(rounds.Add(Upload(0, "w0", updates[0], 1)).code() == absl::StatusCode::kOutOfRange);
}

TEST_CASE("secure aggregation: masks cancel, and a dropped worker's masks are removed") {
  const std::vector<std::string> workers = {"worker-1", "worker-2", "worker-3", "worker-4"};
  std::vector<secagg::KeyPair> keys;
  for (size_t i = 0; i < workers.size(); ++i) keys.push_back(*secagg::GenerateKeyPair());
  auto seed = [&](size_t i, size_t j) {
    return *secagg::PairSeed(keys[i].private_key, keys[j].public_key, "job-1", 3);
  };
  std::mt19937_64 rng(11);
  RoundAggregator rounds(Layout());
  std::vector<std::vector<std::vector<double>>> updates;
  for (size_t i = 0; i < workers.size(); ++i) {
    updates.push_back(RandomUpdate(rng));
    std::map<std::string, std::string> peers;
    for (size_t j = 0; j < workers.size(); ++j) {
      if (j != i) peers[workers[j]] = seed(i, j);
    }
    // worker-4 masked its update but its upload never arrives.
    if (i == 3) continue;
    const PushRequest upload = Upload(3, workers[i], updates[i], 50.0 * (i + 1), peers);
    // A single masked upload says nothing of its update: its words are far
    // from the plain encodings.
    CHECK(upload.gradients(0).substr(0, 8) != Words({EncodeFixed(50.0 * (i + 1) * updates[i][0][0])}));
    REQUIRE(rounds.Add(upload).ok());
  }
  CloseRoundRequest close = Close(3, {"worker-1", "worker-2", "worker-3"});
  for (size_t s = 0; s < 3; ++s) {
    MaskCorrection* correction = close.add_corrections();
    correction->set_survivor(workers[s]);
    correction->set_dropped("worker-4");
    correction->set_seed(seed(s, 3));
  }
  // Without the corrections the sum is noise; with them it is exact.
  RoundAggregator copy = rounds;
  auto garbage = copy.Close(Close(3, {"worker-1", "worker-2", "worker-3"}), {});
  REQUIRE(garbage.ok());
  CHECK(std::fabs(garbage->weight - 300) > 1e6);

  auto result = rounds.Close(close, {});
  REQUIRE(result.ok());
  CHECK(result->weight == Approx(50 + 100 + 150));
  for (size_t r = 0; r < 2; ++r) {
    for (size_t k = 0; k < updates[0][r].size(); ++k) {
      double expected = 0;
      for (int w = 0; w < 3; ++w) expected += 50.0 * (w + 1) * updates[w][r][k];
      CHECK(result->mean_delta[r][k] == Approx(expected / 300).margin(1e-6));
    }
  }
}

TEST_CASE("a DP round divides by the fixed denominator, not by who took part") {
  RoundAggregator rounds(Layout());
  std::mt19937_64 rng(11);
  std::vector<std::vector<std::vector<double>>> updates;
  for (int w = 0; w < 2; ++w) {
    updates.push_back(RandomUpdate(rng));
    REQUIRE(rounds.Add(Upload(0, "w" + std::to_string(w), updates[w], 1)).ok());
  }
  CloseRoundRequest bad = Close(0, {"w0", "w1"});
  bad.set_fixed_denominator(-2);
  CHECK(rounds.Close(bad, {}).status().code() == absl::StatusCode::kInvalidArgument);
  bad.set_fixed_denominator(std::nan(""));
  CHECK(rounds.Close(bad, {}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(rounds.open_round() == 0);  // refused closes change nothing

  CloseRoundRequest close = Close(0, {"w0", "w1"});
  close.set_fixed_denominator(5);  // e.g. q = 0.1 of 50 sites expected, 2 came
  auto result = rounds.Close(close, {});
  REQUIRE(result.ok());
  for (size_t r = 0; r < 2; ++r) {
    for (size_t k = 0; k < updates[0][r].size(); ++k) {
      const double sum = updates[0][r][k] + updates[1][r][k];
      CHECK(result->mean_delta[r][k] == Approx(sum / 5).margin(1e-6));
    }
  }
}

TEST_CASE("bad uploads and closes change nothing") {
  RoundAggregator rounds(Layout());
  std::mt19937_64 rng(3);
  PushRequest upload = Upload(0, "w0", RandomUpdate(rng), 10);
  PushRequest outside = upload;
  outside.mutable_slices(1)->set_end(9);  // past the held range of "b"
  CHECK(rounds.Add(outside).code() == absl::StatusCode::kInvalidArgument);
  PushRequest short_payload = upload;
  short_payload.mutable_gradients(0)->resize(8);
  CHECK(rounds.Add(short_payload).code() == absl::StatusCode::kInvalidArgument);
  CHECK(rounds.uploads() == 0);

  // Half an upload (range "b" only) cannot make the round.
  PushRequest half = upload;
  half.mutable_slices()->DeleteSubrange(0, 1);
  half.mutable_gradients()->DeleteSubrange(0, 1);
  REQUIRE(rounds.Add(half).ok());
  auto refused = rounds.Close(Close(0, {"w0"}), {});
  CHECK(refused.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(refused.status().message().find("w0 lacks part of [0, 6) of a") != std::string::npos);
  CHECK(rounds.open_round() == 0);
  CHECK(rounds.Close(Close(0, {"nobody"}), {}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  REQUIRE(rounds.Add(upload).ok());
  CHECK(rounds.Close(Close(0, {"w0", "w0"}), {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CloseRoundRequest bad_correction = Close(0, {"w0"});
  MaskCorrection* correction = bad_correction.add_corrections();
  correction->set_survivor("w0");
  correction->set_dropped("w0");  // a contributor cannot have dropped
  correction->set_seed(std::string(32, 's'));
  CHECK(rounds.Close(bad_correction, {}).status().code() == absl::StatusCode::kInvalidArgument);
  correction->set_survivor("w9");  // nor can a non-contributor have survived
  correction->set_dropped("w1");
  CHECK(rounds.Close(bad_correction, {}).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(rounds.open_round() == 0);
  CHECK(rounds.Close(Close(0, {"w0"}), {}).ok());
}

TEST_CASE("DP noise is the same on every replica and has the asked stddev") {
  std::vector<RoundAggregator> replicas(2, RoundAggregator({{"a", 0, 0, 20000}}));
  PushRequest upload;
  upload.set_worker_id("w0");
  upload.set_encoding(FIXED64);
  Slice* slice = upload.add_slices();
  slice->set_table("a");
  slice->set_end(20000);
  upload.add_gradients(Words(std::vector<uint64_t>(20000, EncodeFixed(0))));
  upload.set_weight(Words({EncodeFixed(2)}));
  std::vector<std::vector<float>> means;
  for (RoundAggregator& replica : replicas) {
    REQUIRE(replica.Add(upload).ok());
    auto result = replica.Close(Close(0, {"w0"}), {/*stddev=*/3.0, /*seed=*/42});
    REQUIRE(result.ok());
    means.push_back(result->mean_delta[0]);
  }
  CHECK(means[0] == means[1]);
  double sum = 0, squares = 0;
  for (float v : means[0]) {
    sum += v;
    squares += double{v} * v;
  }
  const double mean = sum / 20000, stddev = std::sqrt(squares / 20000 - mean * mean);
  CHECK(std::fabs(mean) < 0.05);
  CHECK(stddev == Approx(1.5).epsilon(0.03));  // noise 3 on the sum, divided by weight 2
}

TEST_CASE("a replica's uploads travel whole, and a mismatched state is refused") {
  RoundAggregator source(Layout());
  std::mt19937_64 rng(5);
  const auto update = RandomUpdate(rng);
  PushRequest upload = Upload(2, "w0", update, 4);
  PushRequest half = upload;  // range "b" only: not yet complete
  half.mutable_slices()->DeleteSubrange(0, 1);
  half.mutable_gradients()->DeleteSubrange(0, 1);
  REQUIRE(source.Add(half).ok());
  REQUIRE(source.Add(Upload(3, "w1", update, 1)).ok());  // a later round's, kept too
  const RoundUploads state = source.Export();

  // Another layout cannot take it, and keeps what it had.
  RoundAggregator other({{"a", 0, 0, 6}});
  REQUIRE(other.Add([&] {
                 PushRequest a = upload;
                 a.mutable_slices()->DeleteSubrange(1, 1);
                 a.mutable_gradients()->DeleteSubrange(1, 1);
                 return a;
               }())
              .ok());
  CHECK(other.Import(state).code() == absl::StatusCode::kInvalidArgument);
  CHECK(other.Export().uploads_size() == 1);

  RoundAggregator copy(Layout());
  REQUIRE(copy.Import(state).ok());
  CHECK(copy.open_round() == 0);
  // The rest of the upload arrives at both; both close round 2 alike.
  for (RoundAggregator* rounds : {&source, &copy}) REQUIRE(rounds->Add(upload).ok());
  auto a = source.Close(Close(2, {"w0"}), {});
  auto b = copy.Close(Close(2, {"w0"}), {});
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->mean_delta == b->mean_delta);
  CHECK(a->weight == Approx(4));
  CHECK(copy.Close(Close(3, {"w1"}), {}).ok());
}

}  // namespace
}  // namespace petrel::server

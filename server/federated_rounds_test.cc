#define CATCH_CONFIG_MAIN
#include "server/federated_rounds.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "catch2/catch.hpp"
#include "common/wire/push_view.h"
#include "common/federated/secure_agg.h"

namespace petrel::server {
namespace {

// The group holds [0, 4) of table "a" (mask stream 0).
std::vector<RoundAggregator::RangeLayout> Layout() { return {{"a", 0, 0, 4}}; }

std::string Words(const std::vector<uint64_t>& words) {
  return std::string(reinterpret_cast<const char*>(words.data()), words.size() * 8);
}

// An unmasked upload of `delta` with weight `weight`.
PushRequest Upload(int64_t round, const std::string& worker, const std::vector<double>& delta,
                   double weight) {
  PushRequest request;
  request.set_clock(round);
  request.set_worker_id(worker);
  request.set_encoding(FIXED64);
  std::vector<uint64_t> words;
  for (double v : delta) words.push_back(secagg::EncodeFixed(weight * v));
  Slice* slice = request.add_slices();
  slice->set_table("a");
  slice->set_begin(0);
  slice->set_end(4);
  request.add_gradients(Words(words));
  request.set_weight(Words({secagg::EncodeFixed(weight)}));
  return request;
}

CloseRoundRequest Close(int64_t round, uint64_t noise_seed) {
  CloseRoundRequest request;
  request.set_round(round);
  request.add_contributors("w0");
  request.add_contributors("w1");
  request.set_noise_seed(noise_seed);
  return request;
}

JobSpec Dp(double noise_multiplier, double clip_norm) {
  JobSpec spec;
  spec.mutable_dp()->set_noise_multiplier(noise_multiplier);
  spec.mutable_dp()->set_clip_norm(clip_norm);
  return spec;
}

// Two workers' uploads for round 0, closed with `seed`.
std::vector<float> RoundMean(FederatedRounds& rounds, uint64_t seed) {
  const PushRequest a = Upload(0, "w0", {1, 2, 3, 4}, 1);
  const PushRequest b = Upload(0, "w1", {3, 2, 1, 0}, 3);
  REQUIRE(rounds.Add(ViewOf(a)).ok());
  REQUIRE(rounds.Add(ViewOf(b)).ok());
  absl::StatusOr<RoundAggregator::Aggregate> mean = rounds.Close(Close(0, seed));
  REQUIRE(mean.ok());
  REQUIRE(mean->mean_delta.size() == 1);
  return mean->mean_delta[0];
}

TEST_CASE("without DP a round closes to the weighted mean delta, once") {
  FederatedRounds rounds(JobSpec(), Layout());
  CHECK(rounds.noise_stddev() == 0);
  const std::vector<float> mean = RoundMean(rounds, 1);
  const std::vector<double> expected = {2.5, 2, 1.5, 1};  // (1 x a + 3 x b) / 4
  for (int i = 0; i < 4; ++i) CHECK(std::abs(mean[i] - expected[i]) < 1e-6);
  CHECK(absl::IsAlreadyExists(rounds.Close(Close(0, 1)).status()));  // a retried close
  // Round 0 is closed: a late upload for it is refused.
  CHECK(absl::IsOutOfRange(rounds.Add(ViewOf(Upload(0, "w0", {1, 1, 1, 1}, 1)))));
}

TEST_CASE("DP noise has the job's stddev and the close's seed: every replica adds the same") {
  FederatedRounds plain(JobSpec(), Layout());
  FederatedRounds first(Dp(2, 0.5), Layout());
  FederatedRounds second(Dp(2, 0.5), Layout());
  FederatedRounds other_seed(Dp(2, 0.5), Layout());
  CHECK(first.noise_stddev() == 1.0);  // noise_multiplier x clip_norm
  const std::vector<float> noiseless = RoundMean(plain, 9);
  const std::vector<float> noisy = RoundMean(first, 9);
  CHECK(noisy != noiseless);
  CHECK(RoundMean(second, 9) == noisy);
  CHECK(RoundMean(other_seed, 10) != noisy);
}

TEST_CASE("a replica rebuilt mid-round takes the open round's uploads") {
  FederatedRounds primary(JobSpec(), Layout());
  REQUIRE(primary.Add(ViewOf(Upload(0, "w0", {1, 2, 3, 4}, 1))).ok());
  FederatedRounds other_layout(JobSpec(), {{"a", 0, 0, 3}});
  CHECK(absl::IsInvalidArgument(other_layout.Import(primary.Export())));
  FederatedRounds replica(JobSpec(), Layout());
  REQUIRE(replica.Import(primary.Export()).ok());
  REQUIRE(replica.Add(ViewOf(Upload(0, "w1", {3, 2, 1, 0}, 3))).ok());
  REQUIRE(primary.Add(ViewOf(Upload(0, "w1", {3, 2, 1, 0}, 3))).ok());
  absl::StatusOr<RoundAggregator::Aggregate> a = primary.Close(Close(0, 1));
  absl::StatusOr<RoundAggregator::Aggregate> b = replica.Close(Close(0, 1));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->mean_delta == b->mean_delta);
}

}  // namespace
}  // namespace petrel::server

#define CATCH_CONFIG_MAIN
#include "coordinator/federated_rounds.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/federated/rdp_accountant.h"

namespace petrel::coordinator {
namespace {

JobSpec Spec(int rounds, double fraction, bool secure) {
  JobSpec spec;
  spec.set_mode("federated");
  spec.mutable_training()->set_seed(5);
  spec.mutable_cluster()->set_workers(4);
  FederatedSpec* f = spec.mutable_federated();
  f->set_rounds(rounds);
  f->set_local_epochs(1);
  f->set_client_fraction(fraction);
  f->set_round_deadline_seconds(10);
  f->set_secure_aggregation(secure);
  return spec;
}

std::vector<FederatedRounds::Worker> Workers() {
  return {{"w0", 0}, {"w1", 1}, {"w2", 2}, {"w3", 3}};
}

RoundRequest Poll(const std::string& worker, int64_t uploaded = -1) {
  RoundRequest request;
  request.set_job_id("job-1");
  request.set_worker_id(worker);
  request.set_public_key(std::string(32, static_cast<char>('a' + worker.back() - '0')));
  request.set_uploaded_round(uploaded);
  request.set_reveal_round(-1);
  return request;
}

RoundInfo Must(absl::StatusOr<RoundInfo> info) {
  REQUIRE(info.ok());
  return *info;
}

const absl::Time t0 = absl::FromUnixSeconds(1000);

TEST_CASE("rounds sample a fraction of the workers and close when all sampled uploaded") {
  FederatedRounds rounds("job-1", Spec(2, 0.5, false));
  CHECK_FALSE(rounds.Advance(Workers(), t0).has_value());
  CHECK(Must(rounds.Handle(Poll("w0"))).phase() == ROUND_WAITING);
  rounds.Advance(Workers(), t0);  // w1..w3 have not polled yet
  CHECK(Must(rounds.Handle(Poll("w1"))).phase() == ROUND_WAITING);
  for (const char* w : {"w2", "w3"}) Must(rounds.Handle(Poll(w)));
  rounds.Advance(Workers(), t0);
  RoundInfo info = Must(rounds.Handle(Poll("w0")));
  REQUIRE(info.phase() == ROUND_TRAINING);
  REQUIRE(info.participants_size() == 2);  // ceil(0.5 x 4)
  std::vector<std::string> sampled;
  for (const auto& p : info.participants()) sampled.push_back(p.worker_id());
  for (const std::string& w : sampled) {
    CHECK(Must(rounds.Handle(Poll(w))).participant());
    Must(rounds.Handle(Poll(w, /*uploaded=*/0)));
  }
  auto close = rounds.Advance(Workers(), t0);
  CHECK_FALSE(close.has_value());  // the round moves to CLOSING first
  close = rounds.Advance(Workers(), t0);
  REQUIRE(close.has_value());
  CHECK(close->round() == 0);
  CHECK(close->contributors_size() == 2);
  CHECK(close->corrections_size() == 0);
  CHECK_FALSE(rounds.Advance(Workers(), t0).has_value());  // in flight: once
  rounds.Closed(0, absl::UnavailableError("server gone"), t0);
  auto retried = rounds.Advance(Workers(), t0);
  REQUIRE(retried.has_value());
  CHECK(retried->noise_seed() == close->noise_seed());
  rounds.Closed(0, absl::OkStatus(), t0 + absl::Seconds(2));
  CHECK(rounds.status().rounds_completed() == 1);
  CHECK(rounds.status().last_round_seconds() == Approx(2));

  // Round 1 samples again; the same sample for the same seed and round.
  rounds.Advance(Workers(), t0);
  info = Must(rounds.Handle(Poll("w0")));
  CHECK(info.round() == 1);
  for (const auto& p : info.participants()) Must(rounds.Handle(Poll(p.worker_id(), 1)));
  rounds.Advance(Workers(), t0);
  REQUIRE(rounds.Advance(Workers(), t0).has_value());
  rounds.Closed(1, absl::OkStatus(), t0);
  CHECK(rounds.done());
  CHECK(Must(rounds.Handle(Poll("w2"))).phase() == ROUNDS_DONE);
}

TEST_CASE("a straggler is dropped at the deadline") {
  FederatedRounds rounds("job-1", Spec(3, 1.0, false));
  for (const auto& w : Workers()) Must(rounds.Handle(Poll(w.id)));
  rounds.Advance(Workers(), t0);
  for (const char* w : {"w0", "w1", "w2"}) Must(rounds.Handle(Poll(w, 0)));
  rounds.Advance(Workers(), t0 + absl::Seconds(5));
  CHECK(Must(rounds.Handle(Poll("w0"))).phase() == ROUND_TRAINING);  // before the deadline
  rounds.Advance(Workers(), t0 + absl::Seconds(11));
  auto close = rounds.Advance(Workers(), t0 + absl::Seconds(11));
  REQUIRE(close.has_value());
  CHECK(close->contributors_size() == 3);
  rounds.Closed(0, absl::OkStatus(), t0 + absl::Seconds(11));
  CHECK(rounds.status().last_dropped_size() == 1);
  CHECK(rounds.status().last_dropped(0) == "w3");
  // Its late upload is not counted for the next round.
  rounds.Advance(Workers(), t0 + absl::Seconds(12));
  CHECK_FALSE(Must(rounds.Handle(Poll("w3", 0))).uploaded());
}

TEST_CASE("secure aggregation: survivors reveal their seeds with the dropped") {
  FederatedRounds rounds("job-1", Spec(2, 1.0, true));
  RoundRequest keyless = Poll("w0");
  keyless.clear_public_key();
  CHECK(rounds.Handle(keyless).status().code() == absl::StatusCode::kInvalidArgument);
  for (const auto& w : Workers()) Must(rounds.Handle(Poll(w.id)));
  rounds.Advance(Workers(), t0);
  RoundInfo info = Must(rounds.Handle(Poll("w0")));
  REQUIRE(info.participants_size() == 4);
  CHECK(info.participants(1).public_key() == std::string(32, 'b'));
  for (const char* w : {"w0", "w1", "w2"}) Must(rounds.Handle(Poll(w, 0)));
  // w3 departs: no need to wait for the deadline.
  std::vector<FederatedRounds::Worker> live = {{"w0", 0}, {"w1", 1}, {"w2", 2}};
  rounds.Advance(live, t0);
  info = Must(rounds.Handle(Poll("w1")));
  REQUIRE(info.phase() == ROUND_REVEAL);
  REQUIRE(info.dropped_size() == 1);
  CHECK(info.dropped(0) == "w3");

  RoundRequest bad = Poll("w0");
  bad.set_reveal_round(0);
  PairSeed* wrong = bad.add_reveals();
  wrong->set_peer("w1");  // a survivor's seed must never be revealed
  wrong->set_seed(std::string(32, 'x'));
  CHECK(rounds.Handle(bad).status().code() == absl::StatusCode::kInvalidArgument);
  for (const char* w : {"w0", "w1", "w2"}) {
    RoundRequest reveal = Poll(w);
    reveal.set_reveal_round(0);
    PairSeed* seed = reveal.add_reveals();
    seed->set_peer("w3");
    seed->set_seed(std::string(32, w[1]));
    CHECK(Must(rounds.Handle(reveal)).revealed());
  }
  rounds.Advance(live, t0);
  auto close = rounds.Advance(live, t0);
  REQUIRE(close.has_value());
  CHECK(close->contributors_size() == 3);
  REQUIRE(close->corrections_size() == 3);
  CHECK(close->corrections(0).dropped() == "w3");
  CHECK(close->corrections(0).seed() == std::string(32, '0'));
}

TEST_CASE("a worker that restarts mid-round with a new key does not count for it") {
  FederatedRounds rounds("job-1", Spec(2, 1.0, true));
  for (const auto& w : Workers()) Must(rounds.Handle(Poll(w.id)));
  rounds.Advance(Workers(), t0);
  RoundRequest restarted = Poll("w2", /*uploaded=*/0);
  restarted.set_public_key(std::string(32, 'z'));
  CHECK_FALSE(Must(rounds.Handle(restarted)).uploaded());
  for (const char* w : {"w0", "w1", "w3"}) CHECK(Must(rounds.Handle(Poll(w, 0))).uploaded());
  rounds.Advance(Workers(), t0 + absl::Seconds(11));
  RoundInfo info = Must(rounds.Handle(Poll("w0")));
  REQUIRE(info.phase() == ROUND_REVEAL);
  CHECK(info.dropped(0) == "w2");
}

TEST_CASE("secure aggregation: a survivor that does not reveal abandons the round") {
  FederatedRounds rounds("job-1", Spec(2, 1.0, true));
  for (const auto& w : Workers()) Must(rounds.Handle(Poll(w.id)));
  rounds.Advance(Workers(), t0);
  for (const char* w : {"w0", "w1", "w2"}) Must(rounds.Handle(Poll(w, 0)));
  rounds.Advance(Workers(), t0 + absl::Seconds(11));
  CHECK(Must(rounds.Handle(Poll("w0"))).phase() == ROUND_REVEAL);
  rounds.Advance(Workers(), t0 + absl::Seconds(30));
  CHECK(rounds.status().rounds_abandoned() == 1);
  CHECK(rounds.status().rounds_completed() == 0);
  rounds.Advance(Workers(), t0 + absl::Seconds(31));
  CHECK(Must(rounds.Handle(Poll("w0"))).round() == 1);
}

JobSpec DpSpec(int rounds, double fraction, int workers) {
  JobSpec spec = Spec(rounds, fraction, false);
  spec.mutable_cluster()->set_workers(workers);
  spec.mutable_dp()->set_clip_norm(1);
  spec.mutable_dp()->set_noise_multiplier(1);
  spec.mutable_dp()->set_delta(1e-5);
  return spec;
}

std::vector<FederatedRounds::Worker> ManyWorkers(int n) {
  std::vector<FederatedRounds::Worker> workers;
  for (int i = 0; i < n; ++i) workers.push_back({"site" + std::to_string(i), i});
  return workers;
}

RoundRequest PollAs(const std::string& worker, int64_t uploaded = -1) {
  RoundRequest request = Poll("w0", uploaded);
  request.set_worker_id(worker);
  return request;
}

// Runs one round to its end; returns the sample size (0 when the round was
// abandoned before training) and the close's fixed denominator.
std::pair<int, double> RunRound(FederatedRounds& rounds,
                                const std::vector<FederatedRounds::Worker>& workers) {
  const int64_t round = rounds.status().round();
  for (const auto& w : workers) Must(rounds.Handle(PollAs(w.id)));
  rounds.Advance(workers, t0);
  if (rounds.status().round() != round) return {0, 0};  // abandoned at sampling
  RoundInfo info = Must(rounds.Handle(PollAs(workers[0].id)));
  REQUIRE(info.phase() == ROUND_TRAINING);
  for (const auto& p : info.participants()) Must(rounds.Handle(PollAs(p.worker_id(), round)));
  rounds.Advance(workers, t0);
  std::optional<CloseRoundRequest> close = rounds.Advance(workers, t0);
  REQUIRE(close.has_value());
  rounds.Closed(round, absl::OkStatus(), t0);
  return {info.participants_size(), close->fixed_denominator()};
}

TEST_CASE("DP rounds sample each worker on its own (Poisson) and charge every sampled round") {
  // 200 sites at q = 0.1 over 60 rounds: the sample size varies round to
  // round like Binomial(200, 0.1) (mean 20, sd 4.2), which a fixed-size
  // sample of ceil(q n) = 20 never does.
  const int n = 200;
  const double q = 0.1;
  FederatedRounds rounds("job-1", DpSpec(60, q, n));
  const auto workers = ManyWorkers(n);
  std::set<int> sizes;
  int total = 0;
  for (int r = 0; r < 60; ++r) {
    auto [size, denominator] = RunRound(rounds, workers);
    REQUIRE(size > 0);
    sizes.insert(size);
    total += size;
    // The divisor is the expected sample, never the one drawn.
    CHECK(denominator == Approx(q * n));
  }
  CHECK(sizes.size() >= 5);
  const double mean = static_cast<double>(total) / 60;
  CHECK(mean > 20 - 3 * 4.24 / std::sqrt(60.0));  // 3 standard errors
  CHECK(mean < 20 + 3 * 4.24 / std::sqrt(60.0));
  CHECK(rounds.status().dp_sampling_rate() == q);
  auto expected = dp::EpsilonSpent(q, 1.0, 60, 1e-5);
  REQUIRE(expected.ok());
  CHECK(rounds.status().dp_epsilon() == Approx(expected->epsilon));
  CHECK(rounds.status().dp_delta() == 1e-5);
}

TEST_CASE("a DP round whose Poisson sample is empty is abandoned and still charged") {
  // 4 workers at q = 0.3: P(empty sample) = 0.7^4 = 0.24 per round, so 40
  // rounds see some (the draw is fixed by the seed).
  FederatedRounds rounds("job-1", DpSpec(40, 0.3, 4));
  int applied = 0, empty = 0;
  for (int r = 0; r < 40 && !rounds.done(); ++r) {
    auto [size, denominator] = RunRound(rounds, Workers());
    if (size == 0) {
      ++empty;
    } else {
      ++applied;
      CHECK(denominator == Approx(0.3 * 4));
    }
  }
  REQUIRE(empty > 0);
  CHECK(rounds.status().rounds_abandoned() == empty);
  CHECK(rounds.status().rounds_completed() == applied);
  auto expected = dp::EpsilonSpent(0.3, 1.0, applied + empty, 1e-5);
  REQUIRE(expected.ok());
  CHECK(rounds.status().dp_epsilon() == Approx(expected->epsilon));
}

TEST_CASE("rounds without DP keep a fixed-size sample and divide by the summed weight") {
  FederatedRounds rounds("job-1", Spec(5, 0.5, false));
  for (int r = 0; r < 5; ++r) {
    auto [size, denominator] = RunRound(rounds, Workers());
    CHECK(size == 2);  // ceil(0.5 x 4), every round
    CHECK(denominator == 0);
  }
}

TEST_CASE("a restarted DP coordinator charges the round it abandoned") {
  FederatedStatus saved;
  saved.set_round(4);
  saved.set_phase("ROUND_CLOSING");
  saved.set_rounds_completed(4);
  FederatedRounds rounds("job-1", DpSpec(10, 0.5, 4), saved);
  CHECK(rounds.status().rounds_abandoned() == 1);
  auto expected = dp::EpsilonSpent(0.5, 1.0, 5, 1e-5);
  REQUIRE(expected.ok());
  CHECK(rounds.status().dp_epsilon() == Approx(expected->epsilon));
}

TEST_CASE("a restarted coordinator goes on after the saved round") {
  FederatedStatus saved;
  saved.set_round(4);
  saved.set_phase("ROUND_TRAINING");
  saved.set_rounds_completed(3);
  FederatedRounds rounds("job-1", Spec(10, 1.0, false), saved);
  CHECK(rounds.status().round() == 5);
  CHECK(rounds.status().rounds_completed() == 3);
}

}  // namespace
}  // namespace petrel::coordinator

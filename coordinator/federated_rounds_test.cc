#define CATCH_CONFIG_MAIN
#include "coordinator/federated_rounds.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/rdp_accountant.h"

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

TEST_CASE("DP rounds report the epsilon spent") {
  JobSpec spec = Spec(3, 0.5, false);
  spec.mutable_dp()->set_clip_norm(1);
  spec.mutable_dp()->set_noise_multiplier(1);
  spec.mutable_dp()->set_delta(1e-5);
  FederatedRounds rounds("job-1", spec);
  double previous = 0;
  for (int r = 0; r < 3; ++r) {
    for (const auto& w : Workers()) Must(rounds.Handle(Poll(w.id)));
    rounds.Advance(Workers(), t0);
    RoundInfo info = Must(rounds.Handle(Poll("w0")));
    for (const auto& p : info.participants()) Must(rounds.Handle(Poll(p.worker_id(), r)));
    rounds.Advance(Workers(), t0);
    REQUIRE(rounds.Advance(Workers(), t0).has_value());
    rounds.Closed(r, absl::OkStatus(), t0);
    CHECK(rounds.status().dp_epsilon() > previous);
    previous = rounds.status().dp_epsilon();
  }
  CHECK(rounds.status().dp_delta() == 1e-5);
  CHECK(rounds.status().dp_sampling_rate() == 0.5);  // 2 of 4 each round
  auto expected = dp::EpsilonSpent(0.5, 1.0, 3, 1e-5);
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

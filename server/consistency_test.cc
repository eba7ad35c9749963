// The staleness gate inside JobShards with several workers: the bound holds
// under random schedules, BSP is independent of arrival order, departures
// release waiters, stalls are reported, and bad clocks are refused.
#define CATCH_CONFIG_MAIN
#include <optional>
#include <random>

#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "checkpoint/checkpoint_cut.h"
#include "checkpoint/checkpoint_file.h"
#include "server/job_shards.h"

namespace petrel::server {
namespace {

constexpr int kWorkers = 3;
constexpr int64_t kSize = 8;

std::string Worker(int rank) { return "worker-" + std::to_string(rank); }

JobAssignment Assignment(int staleness, double stall_seconds = 30) {
  JobAssignment assignment;
  assignment.set_job_id("job-1");
  assignment.set_state(RUNNING);
  JobSpec* spec = assignment.mutable_spec();
  spec->mutable_optimizer()->set_type("momentum");
  spec->mutable_optimizer()->set_learning_rate(0.1f);
  spec->mutable_optimizer()->set_momentum(0.9f);
  spec->mutable_training()->set_seed(7);
  spec->mutable_training()->set_staleness(staleness);
  spec->mutable_training()->set_stall_timeout_seconds(stall_seconds);
  for (int r = 0; r < kWorkers; ++r) assignment.add_worker_ids(Worker(r));
  ShardMap* map = assignment.mutable_shard_map();
  DenseTable* table = map->add_tables();
  table->set_name("w");
  table->add_shape(kSize);
  table->set_initializer("glorot_uniform");
  ShardRange* range = map->add_ranges();
  range->set_table("w");
  range->set_begin(0);
  range->set_end(kSize);
  range->set_server_id("server-0");
  return assignment;
}

std::unique_ptr<JobShards> Create(const JobAssignment& assignment) {
  auto shards = JobShards::Create(assignment, "server-0", 0);
  REQUIRE(shards.ok());
  return std::move(*shards);
}

// One worker's pull: the request and response outlive the call, as gRPC's do.
struct PendingPull {
  PullRequest request;
  PullResponse response;
  std::optional<absl::Status> answer;
  int64_t min_clock_when_answered = -1;
};

void StartPull(JobShards& shards, int rank, int64_t clock, PendingPull* pull,
               const int64_t* min_clock) {
  pull->request.set_job_id("job-1");
  pull->request.set_worker_id(Worker(rank));
  pull->request.set_clock(clock);
  Slice* slice = pull->request.add_slices();
  slice->set_table("w");
  slice->set_begin(0);
  slice->set_end(kSize);
  shards.Pull(pull->request, &pull->response, [pull, min_clock](absl::Status status) {
    pull->answer = status;
    pull->min_clock_when_answered = *min_clock;
  });
}

PushRequest Push(int rank, int64_t clock, float value) {
  PushRequest request;
  request.set_job_id("job-1");
  request.set_worker_id(Worker(rank));
  request.set_clock(clock);
  Slice* slice = request.add_slices();
  slice->set_table("w");
  slice->set_begin(0);
  slice->set_end(kSize);
  std::vector<float> gradient(kSize);
  for (int64_t i = 0; i < kSize; ++i) gradient[i] = value * (i + 1);
  FloatsToBytes(gradient, request.add_gradients());
  return request;
}

std::vector<float> Values(JobShards& shards) {
  PendingPull pull;
  pull.request.set_observer(true);
  int64_t unused = 0;
  StartPull(shards, 0, 0, &pull, &unused);
  REQUIRE(pull.answer.has_value());
  REQUIRE(pull.answer->ok());
  absl::Span<const float> floats = BytesAsFloats(pull.response.values(0));
  return {floats.begin(), floats.end()};
}

TEST_CASE("no pull ever sees more staleness than the bound, under random pauses") {
  for (int staleness : {0, 1, 2, 4, StalenessGate::kAsync}) {
    INFO("staleness " << staleness);
    auto shards = Create(Assignment(staleness));
    std::mt19937 random(staleness + 100);
    const int64_t steps = 30;
    std::vector<int64_t> clock(kWorkers, 0);          // each worker's next clock
    std::vector<std::unique_ptr<PendingPull>> pull(kWorkers);
    std::vector<int> paused_for(kWorkers, 0);
    int64_t min_pushed = 0;  // what the server's gate should hold as its min clock
    int64_t max_seen = 0;
    int answered = 0;
    while (answered < kWorkers * steps) {
      const int rank = random() % kWorkers;
      if (paused_for[rank] > 0) {
        --paused_for[rank];
        continue;
      }
      if (random() % 10 == 0) paused_for[rank] = random() % 40;  // a straggler
      if (clock[rank] == steps) continue;
      if (pull[rank] == nullptr) {
        pull[rank] = std::make_unique<PendingPull>();
        StartPull(*shards, rank, clock[rank], pull[rank].get(), &min_pushed);
        continue;
      }
      if (!pull[rank]->answer.has_value()) continue;  // blocked on the gate
      REQUIRE(pull[rank]->answer->ok());
      const int64_t seen = clock[rank] - pull[rank]->min_clock_when_answered;
      if (staleness != StalenessGate::kAsync) REQUIRE(seen <= staleness);
      max_seen = std::max(max_seen, seen);
      ++answered;
      // Pulls this push releases see the clocks after it.
      const int64_t pushed = clock[rank]++;
      min_pushed = *std::min_element(clock.begin(), clock.end());
      REQUIRE(shards->Push(Push(rank, pushed, 0.01f)).ok());
      pull[rank].reset();
    }
    const GateReport report = shards->Report(absl::Now());
    if (staleness == StalenessGate::kAsync) {
      CHECK(report.pulls_waited() == 0);  // async never waits
    } else {
      CHECK(report.max_observed_staleness() <= staleness);
      CHECK(report.pulls_waited() > 0);    // the pauses did hold pulls back
    }
    CHECK(report.max_observed_staleness() >= 0);
    CHECK(report.min_clock() == steps);
  }
}

TEST_CASE("BSP sums a clock's pushes in rank order, whatever order they arrive in") {
  auto in_order = Create(Assignment(0));
  auto shuffled = Create(Assignment(0));
  for (int64_t c = 0; c < 5; ++c) {
    for (int rank : {0, 1, 2}) REQUIRE(in_order->Push(Push(rank, c, 0.1f * (rank + 1) + c)).ok());
    for (int rank : {2, 0, 1}) REQUIRE(shuffled->Push(Push(rank, c, 0.1f * (rank + 1) + c)).ok());
  }
  const std::vector<float> a = Values(*in_order), b = Values(*shuffled);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);

  // A clock is applied once, as the sum: held until the last worker pushes.
  auto bsp = Create(Assignment(0));
  const std::vector<float> initial = Values(*bsp);
  REQUIRE(bsp->Push(Push(0, 0, 1.0f)).ok());
  REQUIRE(bsp->Push(Push(1, 0, 1.0f)).ok());
  CHECK(Values(*bsp) == initial);
  REQUIRE(bsp->Push(Push(2, 0, 1.0f)).ok());
  const std::vector<float> after = Values(*bsp);
  for (int64_t i = 0; i < kSize; ++i) {
    const float sum = (1.0f * (i + 1) + 1.0f * (i + 1)) + 1.0f * (i + 1);
    CHECK(after[i] == Approx(initial[i] - 0.1f * sum).margin(1e-6));
  }
}

// Rank `rank`'s push for `clock` cut into `parts` requests of near-equal
// slices, in the order `order` gives.
std::vector<PushRequest> PushInParts(int rank, int64_t clock, float value, int parts) {
  const PushRequest whole = Push(rank, clock, value);
  absl::Span<const float> gradient = BytesAsFloats(whole.gradients(0));
  std::vector<PushRequest> out;
  for (int p = 0; p < parts; ++p) {
    const int64_t begin = kSize * p / parts, end = kSize * (p + 1) / parts;
    PushRequest part = whole;
    part.set_part(p);
    part.set_parts(parts);
    part.mutable_slices(0)->set_begin(begin);
    part.mutable_slices(0)->set_end(end);
    part.clear_gradients();
    FloatsToBytes(gradient.subspan(begin, end - begin), part.add_gradients());
    out.push_back(std::move(part));
  }
  return out;
}

TEST_CASE("a push in parts counts once all parts are in, and equals the whole push") {
  for (int staleness : {0, 2, StalenessGate::kAsync}) {
    INFO("staleness " << staleness);
    auto whole = Create(Assignment(staleness));
    auto parted = Create(Assignment(staleness));
    for (int64_t c = 0; c < 3; ++c) {
      for (int rank = 0; rank < kWorkers; ++rank) {
        REQUIRE(whole->Push(Push(rank, c, 0.1f * (rank + 1) + c)).ok());
        std::vector<PushRequest> parts = PushInParts(rank, c, 0.1f * (rank + 1) + c, 3);
        // Parts may arrive in any order; the clock is pushed with the last.
        for (int p : {2, 0, 1}) {
          CHECK(parted->Report(absl::Now()).clocks(rank).clock() == c);
          REQUIRE(parted->Push(parts[p]).ok());
        }
        CHECK(parted->Report(absl::Now()).clocks(rank).clock() == c + 1);
      }
    }
    const std::vector<float> a = Values(*whole), b = Values(*parted);
    REQUIRE(a.size() == b.size());
    CHECK(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
  }

  SECTION("BSP holds every part until the clock is complete") {
    auto bsp = Create(Assignment(0));
    const std::vector<float> initial = Values(*bsp);
    for (int rank = 0; rank < kWorkers; ++rank) {
      std::vector<PushRequest> parts = PushInParts(rank, 0, 1.0f, 2);
      REQUIRE(bsp->Push(parts[0]).ok());
      CHECK(Values(*bsp) == initial);
      if (rank < kWorkers - 1) {
        REQUIRE(bsp->Push(parts[1]).ok());
        CHECK(Values(*bsp) == initial);
      } else {
        REQUIRE(bsp->Push(parts[1]).ok());
        CHECK(Values(*bsp) != initial);
      }
    }
  }

  SECTION("bad parts are refused and change nothing") {
    auto shards = Create(Assignment(StalenessGate::kAsync));
    const std::vector<float> initial = Values(*shards);
    std::vector<PushRequest> parts = PushInParts(0, 0, 1.0f, 2);
    PushRequest outside = parts[0];
    outside.set_part(2);
    CHECK(shards->Push(outside).code() == absl::StatusCode::kInvalidArgument);
    CHECK(Values(*shards) == initial);

    REQUIRE(shards->Push(parts[0]).ok());
    const std::vector<float> half = Values(*shards);
    // A part that arrives twice is a retry: acknowledged, applied once.
    CHECK(shards->Push(parts[0]).ok());
    CHECK(Values(*shards) == half);
    PushRequest recount = parts[1];
    recount.set_parts(3);
    CHECK(shards->Push(recount).code() == absl::StatusCode::kInvalidArgument);
    // A whole push of the clock whose parts are arriving is refused.
    PushRequest whole = Push(0, 0, 1.0f);
    absl::Status refused = shards->Push(whole);
    CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
    CHECK(absl::StrContains(refused.message(), "still missing"));
    CHECK(Values(*shards) == half);
    REQUIRE(shards->Push(parts[1]).ok());
    CHECK(shards->Report(absl::Now()).clocks(0).clock() == 1);
    // So is a whole clock pushed again once it has counted.
    const std::vector<float> both = Values(*shards);
    CHECK(shards->Push(parts[0]).ok());
    CHECK(shards->Push(parts[1]).ok());
    CHECK(Values(*shards) == both);
    CHECK(shards->Report(absl::Now()).clocks(0).clock() == 1);
  }
}

TEST_CASE("a worker that leaves no longer holds the others back") {
  auto shards = Create(Assignment(0));
  int64_t min = 0;
  REQUIRE(shards->Push(Push(0, 0, 1.0f)).ok());
  REQUIRE(shards->Push(Push(1, 0, 1.0f)).ok());
  PendingPull waiting;
  StartPull(*shards, 0, 1, &waiting, &min);
  CHECK_FALSE(waiting.answer.has_value());  // worker-2 has not pushed clock 0
  PushRequest leave;
  leave.set_job_id("job-1");
  leave.set_worker_id(Worker(2));
  leave.set_leave(true);
  REQUIRE(shards->Push(leave).ok());
  REQUIRE(waiting.answer.has_value());
  CHECK(waiting.answer->ok());
  CHECK(shards->Push(Push(2, 0, 1.0f)).code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("a stalled pull is reported with the workers it waits for") {
  auto shards = Create(Assignment(1, /*stall_seconds=*/0.05));
  int64_t min = 0;
  for (int rank : {0, 1}) {
    REQUIRE(shards->Push(Push(rank, 0, 1.0f)).ok());
    REQUIRE(shards->Push(Push(rank, 1, 1.0f)).ok());
  }
  PendingPull waiting;
  StartPull(*shards, 0, 2, &waiting, &min);  // needs worker-2 at clock >= 1
  CHECK_FALSE(waiting.answer.has_value());
  CHECK(shards->Report(absl::Now()).stalls_size() == 0);
  absl::SleepFor(absl::Milliseconds(80));
  shards->CheckStalls(absl::Now());
  const GateReport report = shards->Report(absl::Now());
  REQUIRE(report.stalls_size() == 1);
  CHECK(report.stalls(0).worker_id() == "worker-0");
  CHECK(report.stalls(0).clock() == 2);
  REQUIRE(report.stalls(0).late_size() == 1);
  CHECK(report.stalls(0).late(0).worker_id() == "worker-2");
  CHECK(report.stalls(0).late(0).clock() == 0);
  REQUIRE(shards->Push(Push(2, 0, 1.0f)).ok());
  CHECK(waiting.answer.has_value());
  CHECK(shards->Report(absl::Now()).stalls_size() == 0);
}

TEST_CASE("bad clocks are refused and change nothing") {
  auto shards = Create(Assignment(2));
  int64_t min = 0;
  const std::vector<float> initial = Values(*shards);
  PendingPull ahead;
  StartPull(*shards, 0, 1, &ahead, &min);  // worker-0 has pushed nothing yet
  REQUIRE(ahead.answer.has_value());
  CHECK(ahead.answer->code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(ahead.answer->message()).find("has pushed 0 clocks") != std::string::npos);
  CHECK(shards->Push(Push(0, 1, 1.0f)).code() == absl::StatusCode::kFailedPrecondition);
  PushRequest stranger = Push(0, 0, 1.0f);
  stranger.set_worker_id("worker-9");
  CHECK(shards->Push(stranger).code() == absl::StatusCode::kNotFound);
  CHECK(Values(*shards) == initial);
  CHECK(shards->Report(absl::Now()).clocks(0).clock() == 0);
}

TEST_CASE("closing fails the waiting pulls") {
  auto shards = Create(Assignment(0));
  int64_t min = 0;
  REQUIRE(shards->Push(Push(0, 0, 1.0f)).ok());
  PendingPull waiting;
  StartPull(*shards, 0, 1, &waiting, &min);
  CHECK_FALSE(waiting.answer.has_value());
  shards->set_state(CANCELLED);
  REQUIRE(waiting.answer.has_value());
  CHECK(waiting.answer->code() == absl::StatusCode::kAborted);
}

}  // namespace
}  // namespace petrel::server

namespace petrel::server {
namespace {

// Under async, a checkpoint is still a consistent cut: pushes for the cut's
// clock and later wait until every worker has pushed the clocks before it,
// and pulls past the cut wait with them.
TEST_CASE("async checkpoints are consistent cuts") {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") +
                          "/async-cut";
  JobAssignment assignment = Assignment(StalenessGate::kAsync);
  assignment.mutable_spec()->mutable_checkpoint()->set_dir(dir);
  assignment.mutable_spec()->mutable_checkpoint()->set_every_clocks(2);
  ShardGroup* group = assignment.mutable_shard_map()->add_groups();
  group->add_servers("server-0");
  group->add_addresses("server-0:1");
  group->set_ready(1);
  auto shards = Create(assignment);
  const std::vector<float> initial = Values(*shards);

  // Workers 0 and 1 run ahead to the cut at clock 2; worker 2 lags.
  for (int rank : {0, 1}) {
    REQUIRE(shards->Push(Push(rank, 0, 1.0f)).ok());
    REQUIRE(shards->Push(Push(rank, 1, 1.0f)).ok());
  }
  REQUIRE(shards->Push(Push(2, 0, 1.0f)).ok());
  const std::vector<float> before_cut = Values(*shards);
  REQUIRE(shards->Push(Push(0, 2, 100.0f)).ok());  // from the cut on: deferred
  CHECK(Values(*shards) == before_cut);
  int64_t min = 0;
  PendingPull past_cut;
  StartPull(*shards, 0, 3, &past_cut, &min);
  CHECK_FALSE(past_cut.answer.has_value());  // waits for the cut

  // Worker 2 pushes clock 1: every worker has pushed clocks 0 and 1. The cut
  // is taken without the deferred push, which is applied right after.
  REQUIRE(shards->Push(Push(2, 1, 1.0f)).ok());
  REQUIRE(past_cut.answer.has_value());
  CHECK(past_cut.answer->ok());
  shards.reset();  // waits for the checkpoint writer
  auto file = ReadCheckpointFile(GroupFile(CutDirectory(dir, "job-1", 2), 0));
  REQUIRE(file.ok());
  absl::Span<const float> saved = BytesAsFloats(file->ranges(0).values());
  // Momentum: exactly the six pushes of clocks 0 and 1 (none of clock 2).
  auto replay = Create(Assignment(StalenessGate::kAsync));
  for (int rank = 0; rank < 3; ++rank) {
    REQUIRE(replay->Push(Push(rank, 0, 1.0f)).ok());
  }
  for (int rank = 0; rank < 3; ++rank) {
    REQUIRE(replay->Push(Push(rank, 1, 1.0f)).ok());
  }
  const std::vector<float> expected = Values(*replay);
  REQUIRE(saved.size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) CHECK(saved[i] == Approx(expected[i]).epsilon(1e-5));
  CHECK(std::vector<float>(saved.begin(), saved.end()) != initial);
}

}  // namespace
}  // namespace petrel::server

namespace petrel::server {
namespace {

TEST_CASE("the pull of a push-pull in parts waits for the worker's last part") {
  for (int staleness : {0, 2, StalenessGate::kAsync}) {
    INFO("staleness " << staleness);
    JobAssignment assignment = Assignment(staleness);
    assignment.clear_worker_ids();
    assignment.add_worker_ids(Worker(0));  // alone: only its own parts hold it back
    auto shards = Create(assignment);
    std::vector<PushRequest> parts = PushInParts(0, 0, 1.0f, 2);
    REQUIRE(shards->Push(parts[0]).ok());
    // A plain pull of clock 1 is refused: the worker has not reached it.
    PendingPull plain;
    int64_t unused = 0;
    StartPull(*shards, 0, 1, &plain, &unused);
    REQUIRE(plain.answer.has_value());
    CHECK(plain.answer->code() == absl::StatusCode::kFailedPrecondition);
    // The push-pull's waits instead, and is answered by the last part.
    PendingPull after;
    after.request = plain.request;
    shards->PullAfterPush(after.request, &after.response,
                          [&after](absl::Status status) { after.answer = status; });
    CHECK(!after.answer.has_value());
    REQUIRE(shards->Push(parts[1]).ok());
    REQUIRE(after.answer.has_value());
    REQUIRE(after.answer->ok());
    absl::Span<const float> floats = BytesAsFloats(after.response.values(0));
    CHECK(std::vector<float>(floats.begin(), floats.end()) == Values(*shards));
  }
}

}  // namespace
}  // namespace petrel::server

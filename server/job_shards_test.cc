#define CATCH_CONFIG_MAIN
#include <optional>
#include "server/job_shards.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/types/span.h"
#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "common/jobspec/model_tables.h"
#include "common/federated/secure_agg.h"
#include "server/initializer.h"
#include "server/optimizer.h"
#include "server/shard_store.h"

namespace petrel::server {
namespace {

constexpr uint64_t kSeed = 7;
constexpr float kLearningRate = 0.5f;

DenseTable Table(const std::string& name, std::vector<int64_t> shape,
                 const std::string& initializer) {
  DenseTable table;
  table.set_name(name);
  for (int64_t d : shape) table.add_shape(d);
  table.set_initializer(initializer);
  return table;
}

void Place(ShardMap* map, const std::string& table, int64_t begin, int64_t end,
           const std::string& server) {
  ShardRange* range = map->add_ranges();
  range->set_table(table);
  range->set_begin(begin);
  range->set_end(end);
  range->set_server_id(server);
  range->set_server_address(server + ":1");
  range->set_group(server == "server-0" ? 0 : 1);  // one group per server
}

// Job "job-1", SGD with lr 0.5, three tables split between two servers:
//   layer0/weights [4, 5]  (20): [0, 12) on server-0, [12, 20) on server-1
//   layer0/bias    [5]     (5):  [0, 5) on server-0
//   layer1/weights [5, 3]  (15): [0, 15) on server-1
JobAssignment Assignment(const std::string& job_id = "job-1") {
  JobAssignment assignment;
  assignment.set_job_id(job_id);
  assignment.set_state(RUNNING);
  JobSpec* spec = assignment.mutable_spec();
  spec->mutable_optimizer()->set_type("sgd");
  spec->mutable_optimizer()->set_learning_rate(kLearningRate);
  spec->mutable_training()->set_seed(kSeed);
  assignment.add_worker_ids("worker-0");  // staleness 0: BSP with one worker
  ShardMap* map = assignment.mutable_shard_map();
  map->set_job_id(job_id);
  map->set_epoch(1);
  *map->add_tables() = Table("layer0/weights", {4, 5}, "glorot_uniform");
  *map->add_tables() = Table("layer0/bias", {5}, "normal");
  *map->add_tables() = Table("layer1/weights", {5, 3}, "glorot_uniform");
  Place(map, "layer0/weights", 12, 20, "server-1");  // out of order on purpose
  Place(map, "layer0/weights", 0, 12, "server-0");
  Place(map, "layer0/bias", 0, 5, "server-0");
  Place(map, "layer1/weights", 0, 15, "server-1");
  for (const char* server : {"server-0", "server-1"}) {
    ShardGroup* group = map->add_groups();
    group->set_id(map->groups_size() - 1);
    group->add_servers(server);
    group->add_addresses(std::string(server) + ":1");
  }
  return assignment;
}

Slice MakeSlice(const std::string& table, int64_t begin, int64_t end) {
  Slice slice;
  slice.set_table(table);
  slice.set_begin(begin);
  slice.set_end(end);
  return slice;
}

std::unique_ptr<JobShards> CreateShards(const JobAssignment& assignment = Assignment()) {
  absl::StatusOr<std::unique_ptr<JobShards>> shards = JobShards::Create(assignment, "server-0", 0);
  INFO(shards.status().ToString());
  REQUIRE(shards.ok());
  return std::move(*shards);
}

// The initial values of a whole table, as the initializer gives them.
std::vector<float> Initial(const std::string& name) {
  const JobAssignment assignment = Assignment();
  for (const DenseTable& table : assignment.shard_map().tables()) {
    if (table.name() != name) continue;
    std::vector<float> values(TableSize(table));
    REQUIRE(InitializeRange(table, kSeed, 0, absl::MakeSpan(values)).ok());
    return values;
  }
  FAIL("no table " << name);
  return {};
}

absl::StatusOr<std::vector<std::vector<float>>> Pull(JobShards& shards,
                                                     const std::vector<Slice>& slices) {
  PullRequest request;
  request.set_job_id(shards.job_id());
  request.set_observer(true);  // reads the current values, outside the clock
  for (const Slice& slice : slices) *request.add_slices() = slice;
  PullResponse response;
  std::optional<absl::Status> answered;
  shards.Pull(request, &response, [&](absl::Status status) { answered = status; });
  REQUIRE(answered.has_value());  // observers never wait
  if (!answered->ok()) return *answered;
  std::vector<std::vector<float>> values;
  for (const std::string& bytes : response.values()) {
    REQUIRE(bytes.size() % sizeof(float) == 0);
    absl::Span<const float> floats = BytesAsFloats(bytes);
    values.emplace_back(floats.begin(), floats.end());
  }
  return values;
}

std::vector<float> PullOne(JobShards& shards, const Slice& slice) {
  absl::StatusOr<std::vector<std::vector<float>>> values = Pull(shards, {slice});
  INFO(values.status().ToString());
  REQUIRE(values.ok());
  REQUIRE(values->size() == 1);
  return (*values)[0];
}

// Everything server-0 holds, to check that a refused push changed nothing.
std::vector<float> Snapshot(JobShards& shards) {
  std::vector<float> all = PullOne(shards, MakeSlice("layer0/weights", 0, 12));
  std::vector<float> bias = PullOne(shards, MakeSlice("layer0/bias", 0, 5));
  all.insert(all.end(), bias.begin(), bias.end());
  return all;
}

PushRequest MakePush(const std::vector<Slice>& slices,
                     const std::vector<std::vector<float>>& gradients) {
  PushRequest request;
  request.set_job_id("job-1");
  request.set_worker_id("worker-0");
  for (const Slice& slice : slices) *request.add_slices() = slice;
  for (const std::vector<float>& gradient : gradients) {
    FloatsToBytes(gradient, request.add_gradients());
  }
  return request;
}

std::vector<float> Gradient(int64_t n, float value) { return std::vector<float>(n, value); }

TEST_CASE("a pull returns the initial values of the ranges held") {
  std::unique_ptr<JobShards> shards = CreateShards();
  CHECK(shards->job_id() == "job-1");
  CHECK(shards->state() == RUNNING);
  const std::vector<float> weights = Initial("layer0/weights");
  const std::vector<float> bias = Initial("layer0/bias");

  CHECK(PullOne(*shards, MakeSlice("layer0/weights", 0, 12)) ==
        std::vector<float>(weights.begin(), weights.begin() + 12));
  CHECK(PullOne(*shards, MakeSlice("layer0/bias", 0, 5)) == bias);
  // Part of a range, and several slices in one pull, in request order.
  absl::StatusOr<std::vector<std::vector<float>>> both =
      Pull(*shards, {MakeSlice("layer0/bias", 1, 4), MakeSlice("layer0/weights", 3, 9)});
  REQUIRE(both.ok());
  REQUIRE(both->size() == 2);
  CHECK((*both)[0] == std::vector<float>(bias.begin() + 1, bias.begin() + 4));
  CHECK((*both)[1] == std::vector<float>(weights.begin() + 3, weights.begin() + 9));
  // Not all zeros: the initializers ran.
  CHECK(weights[0] != 0.0f);
}

TEST_CASE("parameters after a sequence of pushes equal the reference computation") {
  std::unique_ptr<JobShards> shards = CreateShards();
  // Reference: p -= lr * g per push, in double.
  std::map<std::string, std::vector<double>> ref;
  for (const char* name : {"layer0/weights", "layer0/bias"}) {
    const std::vector<float> init = Initial(name);
    ref[name] = std::vector<double>(init.begin(), init.end());
  }
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> value(-1.0f, 1.0f);
  auto random_gradient = [&](const Slice& s) {
    std::vector<float> g(s.end() - s.begin());
    for (float& x : g) x = value(rng);
    return g;
  };
  const std::vector<std::vector<Slice>> pushes = {
      {MakeSlice("layer0/weights", 0, 12)},
      {MakeSlice("layer0/bias", 0, 5)},
      {MakeSlice("layer0/weights", 2, 5)},
      {MakeSlice("layer0/weights", 0, 12), MakeSlice("layer0/bias", 0, 5)},
      {MakeSlice("layer0/bias", 4, 5), MakeSlice("layer0/weights", 11, 12)},
      // The same element twice in one push: both gradients apply.
      {MakeSlice("layer0/weights", 6, 8), MakeSlice("layer0/weights", 7, 9)},
      {MakeSlice("layer0/weights", 0, 12)},
  };
  for (size_t n = 0; n < pushes.size(); ++n) {
    std::vector<std::vector<float>> gradients;
    for (const Slice& slice : pushes[n]) gradients.push_back(random_gradient(slice));
    PushRequest request = MakePush(pushes[n], gradients);
    request.set_clock(n);
    absl::Status status = shards->Push(request);
    INFO("push " << n << ": " << status.ToString());
    REQUIRE(status.ok());
    for (size_t i = 0; i < pushes[n].size(); ++i) {
      const Slice& slice = pushes[n][i];
      for (int64_t j = slice.begin(); j < slice.end(); ++j) {
        ref[slice.table()][j] -= kLearningRate * gradients[i][j - slice.begin()];
      }
    }
  }
  const std::vector<float> weights = PullOne(*shards, MakeSlice("layer0/weights", 0, 12));
  const std::vector<float> bias = PullOne(*shards, MakeSlice("layer0/bias", 0, 5));
  for (int j = 0; j < 12; ++j) {
    INFO("layer0/weights[" << j << "]");
    CHECK(weights[j] == Approx(ref["layer0/weights"][j]).epsilon(1e-6).margin(1e-6));
  }
  for (int j = 0; j < 5; ++j) {
    INFO("layer0/bias[" << j << "]");
    CHECK(bias[j] == Approx(ref["layer0/bias"][j]).epsilon(1e-6).margin(1e-6));
  }
  const nlohmann::json status = shards->StatusJson();
  CHECK(status["pushes_served"] == static_cast<int64_t>(pushes.size()));
  CHECK(status["worker_clocks"]["worker-0"] == static_cast<int64_t>(pushes.size()));
}

// A push that must be refused with `code`, leaving every parameter as it was.
void CheckRefused(JobShards& shards, const PushRequest& request, absl::StatusCode code,
                  const std::string& message_part = "") {
  const std::vector<float> before = Snapshot(shards);
  absl::Status status = shards.Push(request);
  INFO(status.ToString());
  CHECK(status.code() == code);
  if (!message_part.empty()) CHECK(absl::StrContains(status.message(), message_part));
  CHECK(Snapshot(shards) == before);
  CHECK(shards.StatusJson()["pushes_served"] == 0);
}

const Slice kGood = MakeSlice("layer0/weights", 0, 12);

TEST_CASE("a bad push changes nothing and says why") {
  std::unique_ptr<JobShards> shards = CreateShards();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();

  SECTION("gradient of the wrong byte length") {
    CheckRefused(*shards, MakePush({kGood}, {Gradient(11, 0.1f)}),
                 absl::StatusCode::kInvalidArgument, "44 bytes");
    PushRequest odd = MakePush({kGood}, {Gradient(12, 0.1f)});
    odd.mutable_gradients(0)->append("abc");
    CheckRefused(*shards, odd, absl::StatusCode::kInvalidArgument);
  }
  SECTION("unknown table") {
    CheckRefused(*shards, MakePush({MakeSlice("layer9/weights", 0, 3)}, {Gradient(3, 0.1f)}),
                 absl::StatusCode::kNotFound, "layer9/weights");
  }
  SECTION("range outside the table") {
    CheckRefused(*shards, MakePush({MakeSlice("layer0/weights", 15, 21)}, {Gradient(6, 0.1f)}),
                 absl::StatusCode::kOutOfRange);
    CheckRefused(*shards, MakePush({MakeSlice("layer0/weights", -1, 3)}, {Gradient(4, 0.1f)}),
                 absl::StatusCode::kOutOfRange);
    CheckRefused(*shards, MakePush({MakeSlice("layer0/weights", 3, 3)}, {Gradient(0, 0.1f)}),
                 absl::StatusCode::kOutOfRange);
  }
  SECTION("range inside the table but held by the other server") {
    CheckRefused(*shards, MakePush({MakeSlice("layer0/weights", 12, 16)}, {Gradient(4, 0.1f)}),
                 absl::StatusCode::kFailedPrecondition, "server-0 does not hold");
    // Straddling the boundary between the two servers' ranges.
    CheckRefused(*shards, MakePush({MakeSlice("layer0/weights", 10, 14)}, {Gradient(4, 0.1f)}),
                 absl::StatusCode::kFailedPrecondition);
    // A table that has no range here at all.
    CheckRefused(*shards, MakePush({MakeSlice("layer1/weights", 0, 15)}, {Gradient(15, 0.1f)}),
                 absl::StatusCode::kFailedPrecondition, "holds nothing");
  }
  SECTION("slices and gradients do not pair up") {
    PushRequest request = MakePush({kGood, MakeSlice("layer0/bias", 0, 5)}, {Gradient(12, 0.1f)});
    CheckRefused(*shards, request, absl::StatusCode::kInvalidArgument);
    request = MakePush({kGood}, {Gradient(12, 0.1f), Gradient(12, 0.1f)});
    CheckRefused(*shards, request, absl::StatusCode::kInvalidArgument);
  }
  SECTION("NaN or Inf in a gradient") {
    for (float bad : {nan, inf, -inf}) {
      std::vector<float> gradient = Gradient(12, 0.1f);
      gradient[7] = bad;
      CheckRefused(*shards, MakePush({kGood}, {gradient}), absl::StatusCode::kInvalidArgument,
                   "element 7");
    }
  }
  SECTION("a multi-slice push whose second slice is bad changes nothing") {
    const Slice bias = MakeSlice("layer0/bias", 0, 5);
    std::vector<float> nan_gradient = Gradient(5, 0.1f);
    nan_gradient[2] = nan;
    CheckRefused(*shards, MakePush({kGood, bias}, {Gradient(12, 0.1f), nan_gradient}),
                 absl::StatusCode::kInvalidArgument);
    CheckRefused(*shards, MakePush({kGood, bias}, {Gradient(12, 0.1f), Gradient(4, 0.1f)}),
                 absl::StatusCode::kInvalidArgument);
    CheckRefused(*shards,
                 MakePush({kGood, MakeSlice("nope", 0, 5)}, {Gradient(12, 0.1f), Gradient(5, 0.1f)}),
                 absl::StatusCode::kNotFound);
    CheckRefused(*shards,
                 MakePush({kGood, MakeSlice("layer0/bias", 3, 6)},
                          {Gradient(12, 0.1f), Gradient(3, 0.1f)}),
                 absl::StatusCode::kOutOfRange);
    CheckRefused(*shards,
                 MakePush({kGood, MakeSlice("layer0/weights", 12, 13)},
                          {Gradient(12, 0.1f), Gradient(1, 0.1f)}),
                 absl::StatusCode::kFailedPrecondition);
  }
  SECTION("a push to a job that is no longer running") {
    shards->set_state(SUCCEEDED);
    CheckRefused(*shards, MakePush({kGood}, {Gradient(12, 0.1f)}),
                 absl::StatusCode::kFailedPrecondition);
  }
  // After all that, a good push still applies.
  shards->set_state(RUNNING);
  const std::vector<float> before = PullOne(*shards, kGood);
  REQUIRE(shards->Push(MakePush({kGood}, {Gradient(12, 0.25f)})).ok());
  const std::vector<float> after = PullOne(*shards, kGood);
  for (int j = 0; j < 12; ++j) CHECK(after[j] == Approx(before[j] - 0.125f));
}

TEST_CASE("a bad pull says why") {
  std::unique_ptr<JobShards> shards = CreateShards();
  CHECK(Pull(*shards, {MakeSlice("nope", 0, 1)}).status().code() ==
        absl::StatusCode::kNotFound);
  CHECK(Pull(*shards, {MakeSlice("layer0/bias", 0, 6)}).status().code() ==
        absl::StatusCode::kOutOfRange);
  CHECK(Pull(*shards, {kGood, MakeSlice("layer0/weights", 12, 20)}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("Create refuses an unknown optimizer or a range of an unknown table") {
  JobAssignment assignment = Assignment();
  assignment.mutable_spec()->mutable_optimizer()->set_type("rmsprop");
  CHECK(JobShards::Create(assignment, "server-0", 0).status().code() ==
        absl::StatusCode::kInvalidArgument);
  assignment = Assignment();
  Place(assignment.mutable_shard_map(), "ghost", 0, 4, "server-0");
  CHECK(JobShards::Create(assignment, "server-0", 0).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ShardStore reconciles its jobs with the coordinator's list") {
  ShardStore store("server-0");
  store.Reconcile({Assignment("job-a"), Assignment("job-b")});
  absl::StatusOr<std::shared_ptr<JobShards>> a = store.Find("job-a", 0);
  REQUIRE(a.ok());
  REQUIRE(store.Find("job-b", 0).ok());
  const std::vector<float> weights = Initial("layer0/weights");
  CHECK(PullOne(**a, kGood) == std::vector<float>(weights.begin(), weights.begin() + 12));
  REQUIRE((*a)->Push(MakePush({kGood}, {Gradient(12, 1.0f)})).ok());
  const std::vector<float> pushed = PullOne(**a, kGood);

  // job-a stays (same shards, new state), job-b goes, job-c comes; job-d's
  // shards cannot be built and it is skipped.
  JobAssignment a_done = Assignment("job-a");
  a_done.set_state(SUCCEEDED);
  JobAssignment d = Assignment("job-d");
  d.mutable_spec()->mutable_optimizer()->set_type("rmsprop");
  store.Reconcile({a_done, Assignment("job-c"), d});

  absl::StatusOr<std::shared_ptr<JobShards>> a_again = store.Find("job-a", 0);
  REQUIRE(a_again.ok());
  CHECK(a_again->get() == a->get());
  CHECK((*a_again)->state() == SUCCEEDED);
  CHECK(PullOne(**a_again, kGood) == pushed);
  CHECK(store.Find("job-b", 0).status().code() == absl::StatusCode::kNotFound);
  CHECK(store.Find("job-c", 0).ok());
  CHECK(store.Find("job-d", 0).status().code() == absl::StatusCode::kNotFound);

  // An empty list drops everything.
  store.Reconcile({});
  CHECK(store.Find("job-a", 0).status().code() == absl::StatusCode::kNotFound);
  CHECK(store.Find("job-c", 0).status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("ShardStore::Find of an unknown job is NOT_FOUND naming it") {
  ShardStore store("server-0");
  store.Reconcile({Assignment("job-a")});
  absl::StatusOr<std::shared_ptr<JobShards>> missing = store.Find("job-zzz", 0);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(missing.status().message(), "job-zzz"));
  CHECK(absl::StrContains(missing.status().message(), "server-0"));
}

}  // namespace
}  // namespace petrel::server

namespace petrel::server {
namespace {

TEST_CASE("each table uses its own optimizer when the job names one") {
  JobAssignment assignment = Assignment();
  OptimizerSpec bias_optimizer;
  bias_optimizer.set_type("sgd");
  bias_optimizer.set_learning_rate(2.0f);
  (*assignment.mutable_spec()->mutable_optimizer()->mutable_per_table())["layer0/bias"] =
      bias_optimizer;
  std::unique_ptr<JobShards> shards = CreateShards(assignment);
  const std::vector<float> weights = Initial("layer0/weights");
  const std::vector<float> bias = Initial("layer0/bias");
  REQUIRE(shards
              ->Push(MakePush({MakeSlice("layer0/weights", 0, 12), MakeSlice("layer0/bias", 0, 5)},
                              {Gradient(12, 1.0f), Gradient(5, 1.0f)}))
              .ok());
  const std::vector<float> new_weights = PullOne(*shards, MakeSlice("layer0/weights", 0, 12));
  const std::vector<float> new_bias = PullOne(*shards, MakeSlice("layer0/bias", 0, 5));
  for (int i = 0; i < 12; ++i) CHECK(new_weights[i] == Approx(weights[i] - kLearningRate));
  for (int i = 0; i < 5; ++i) CHECK(new_bias[i] == Approx(bias[i] - 2.0f));
}

// README's promise: every server-side optimizer applies to dense tables.
TEST_CASE("every optimizer the servers know applies to a dense table as its reference does") {
  for (const std::string& type : KnownOptimizers()) {
    DYNAMIC_SECTION(type) {
      JobAssignment assignment = Assignment();
      OptimizerSpec* spec = assignment.mutable_spec()->mutable_optimizer();
      spec->set_type(type);
      spec->set_learning_rate(0.1f);
      spec->set_momentum(0.9f);
      spec->set_beta1(0.9f);
      spec->set_beta2(0.999f);
      spec->set_epsilon(1e-8f);
      spec->set_initial_accumulator_value(0.1f);
      spec->set_beta(1.0f);
      std::unique_ptr<JobShards> shards = CreateShards(assignment);
      auto reference = CreateOptimizer(*spec);
      REQUIRE(reference.ok());
      std::vector<float> initial = Initial("layer0/weights");
      initial.resize(12);  // what server-0 holds: [0, 12)
      std::vector<float> expected = initial;
      std::vector<float> state(12 * (*reference)->StateSlots(), 0.0f);
      for (int clock = 0; clock < 3; ++clock) {
        std::vector<float> gradient(12);
        for (int i = 0; i < 12; ++i) gradient[i] = 0.1f * (i - 5) + 0.05f * clock;
        PushRequest push = MakePush({MakeSlice("layer0/weights", 0, 12)}, {gradient});
        push.set_clock(clock);
        REQUIRE(shards->Push(push).ok());
        (*reference)->Apply(absl::MakeSpan(expected), gradient, absl::MakeSpan(state));
      }
      const std::vector<float> got = PullOne(*shards, MakeSlice("layer0/weights", 0, 12));
      CHECK(got == expected);
      CHECK(got != initial);
    }
  }
  CHECK(KnownOptimizers().size() == 5);
}

}  // namespace
}  // namespace petrel::server

namespace petrel::server {
namespace {

// The federated version of Assignment(): group 0's chain is server-0 and
// server-2, the latter still being rebuilt (ready 1).
JobAssignment FederatedAssignment() {
  JobAssignment assignment = Assignment();
  assignment.mutable_spec()->set_mode("federated");
  assignment.mutable_spec()->mutable_federated()->set_rounds(3);
  ShardGroup* group = assignment.mutable_shard_map()->mutable_groups(0);
  group->add_servers("server-2");
  group->add_addresses("server-2:1");
  group->set_ready(1);
  return assignment;
}

// worker-0's upload for `round` of `slice`: delta `delta` with weight 2.
PushRequest Upload(int64_t round, const Slice& slice, double delta) {
  PushRequest request;
  request.set_job_id("job-1");
  request.set_worker_id("worker-0");
  request.set_clock(round);
  request.set_encoding(FIXED64);
  *request.add_slices() = slice;
  std::vector<uint64_t> words(slice.end() - slice.begin(), secagg::EncodeFixed(2 * delta));
  request.add_gradients(std::string(reinterpret_cast<const char*>(words.data()), words.size() * 8));
  const uint64_t weight = secagg::EncodeFixed(2);
  request.set_weight(std::string(reinterpret_cast<const char*>(&weight), 8));
  return request;
}

TEST_CASE("a replica rebuilt in the middle of a federated round closes it like the primary") {
  const JobAssignment assignment = FederatedAssignment();
  auto primary = JobShards::Create(assignment, "server-0", 0);
  auto replica = JobShards::Create(assignment, "server-2", 0);
  REQUIRE(primary.ok());
  REQUIRE(replica.ok());
  const Slice weights = MakeSlice("layer0/weights", 0, 12);
  const Slice bias = MakeSlice("layer0/bias", 0, 5);
  // Half the upload arrives before the rebuild, half after (forwarded to both).
  REQUIRE((*primary)->Push(Upload(0, weights, 0.25)).ok());
  REQUIRE((*primary)->TransferDue() == "server-2");
  REQUIRE((*primary)
              ->Transfer([&](const std::string&, const ReplicaState& state) {
                return (*replica)->Install(state);
              })
              .ok());
  for (auto* shards : {primary->get(), replica->get()}) REQUIRE(shards->Push(Upload(0, bias, -1)).ok());

  CloseRoundRequest close;
  close.set_job_id("job-1");
  close.set_round(0);
  close.add_contributors("worker-0");
  for (auto* shards : {primary->get(), replica->get()}) {
    INFO(shards->CloseRound(close).ToString());
    REQUIRE(shards->CloseRound(close).ok());  // a retried close changes nothing
  }
  // sgd at 0.5 applies half of the mean delta.
  const std::vector<float> initial_weights = Initial("layer0/weights");
  const std::vector<float> initial_bias = Initial("layer0/bias");
  for (auto* shards : {primary->get(), replica->get()}) {
    const std::vector<float> w = PullOne(*shards, weights);
    const std::vector<float> b = PullOne(*shards, bias);
    for (int k = 0; k < 12; ++k) CHECK(w[k] == Approx(initial_weights[k] + 0.125).margin(1e-6));
    for (int k = 0; k < 5; ++k) CHECK(b[k] == Approx(initial_bias[k] - 0.5).margin(1e-6));
  }
}

}  // namespace
}  // namespace petrel::server

namespace petrel::server {
namespace {

// What the raw Push method hands JobShards: views at whatever address gRPC
// received the bytes, owned by the buffer they lie in.
PushView Misaligned(const PushRequest& request, size_t shift) {
  auto storage = std::make_shared<std::vector<std::string>>();
  PushView view = ViewOf(request);
  for (absl::string_view& gradient : view.gradients) {
    std::string& bytes = storage->emplace_back(gradient.size() + 8, '\0');
    char* at = bytes.data() + shift;
    std::memcpy(at, gradient.data(), gradient.size());
    gradient = absl::string_view(at, gradient.size());
  }
  view.owner = storage;
  return view;
}

TEST_CASE("gradients at any address apply the same bits, at once and held for a BSP clock") {
  for (int staleness : {0, -1}) {
    JobAssignment assignment = Assignment();
    assignment.mutable_spec()->mutable_training()->set_staleness(staleness);
    std::unique_ptr<JobShards> aligned = CreateShards(assignment);
    std::unique_ptr<JobShards> shifted[3];
    for (auto& shards : shifted) shards = CreateShards(assignment);
    for (int64_t clock = 0; clock < 3; ++clock) {
      std::vector<float> weights(12), bias(5);
      for (int i = 0; i < 12; ++i) weights[i] = std::sin(1.0f + i + 7 * clock);
      for (int i = 0; i < 5; ++i) bias[i] = std::cos(2.0f + i * clock);
      PushRequest push = MakePush({MakeSlice("layer0/weights", 0, 12), MakeSlice("layer0/bias", 0, 5)},
                                  {weights, bias});
      push.set_clock(clock);
      REQUIRE(aligned->Push(push).ok());
      for (size_t shift = 1; shift <= 3; ++shift) {
        REQUIRE(shifted[shift - 1]->Push(Misaligned(push, shift)).ok());
      }
    }
    for (auto& shards : shifted) {
      INFO("staleness " << staleness);
      CHECK(Snapshot(*shards) == Snapshot(*aligned));
    }
  }
}

TEST_CASE("a non-finite gradient at an odd address is refused and changes nothing") {
  std::unique_ptr<JobShards> shards = CreateShards();
  const std::vector<float> before = Snapshot(*shards);
  std::vector<float> bad = Gradient(12, 0.5f);
  bad[5] = std::numeric_limits<float>::infinity();
  const absl::Status status =
      shards->Push(Misaligned(MakePush({MakeSlice("layer0/weights", 0, 12)}, {bad}), 3));
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()), Catch::Contains("element 5 is inf"));
  CHECK(Snapshot(*shards) == before);
}

}  // namespace
}  // namespace petrel::server

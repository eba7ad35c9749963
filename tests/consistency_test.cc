// Whole jobs under BSP are bit-for-bit reproducible for a given seed and
// cluster shape, and a different seed gives a different model.
#define CATCH_CONFIG_MAIN
#include <optional>

#include "catch2/catch.hpp"
#include "tests/in_process_cluster.h"
#include "tools/cli/model_export.h"

namespace petrel::testing {
namespace {

struct Outcome {
  std::string sha256;
  float test_accuracy = 0;
  int64_t max_observed_staleness = -1;
};

// Trains the softmax model for one epoch on a fresh 2 + 2 cluster.
Outcome Train(int staleness, uint64_t seed) {
  auto cluster = InProcessCluster::Start({.servers = 2, .workers = 2});
  REQUIRE(cluster.ok());
  JobSpec spec = FashionMnistJob({}, /*epochs=*/1, 2, 2);
  spec.mutable_training()->set_staleness(staleness);
  spec.mutable_training()->set_seed(seed);
  auto job = (*cluster)->RunJob(spec, absl::Minutes(3));
  REQUIRE(job.ok());
  INFO(job->error());
  REQUIRE(job->state() == SUCCEEDED);
  auto map = (*cluster)->client().GetShardMap(job->job_id());
  REQUIRE(map.ok());
  auto tables = cli::FetchParameters(*map, (*cluster)->channels());
  REQUIRE(tables.ok());
  return {cli::ParamsSha256(*map, *tables), job->test_accuracy(), job->max_observed_staleness()};
}

TEST_CASE("two BSP runs with one seed give the same parameters; another seed does not") {
  const Outcome first = Train(/*staleness=*/0, /*seed=*/1);
  const Outcome second = Train(0, 1);
  const Outcome other_seed = Train(0, 2);
  CHECK(first.sha256.size() == 64);
  CHECK(first.sha256 == second.sha256);
  CHECK(first.test_accuracy == second.test_accuracy);
  CHECK(first.sha256 != other_seed.sha256);
  CHECK(first.max_observed_staleness == 0);
  CHECK(first.test_accuracy > 0.75f);
}

TEST_CASE("a worker silent at the end-of-training barrier is named as late") {
  // One real worker (rank 0) and one registered by the test that never
  // trains: under async the real one finishes, then waits for the other.
  auto cluster = InProcessCluster::Start(
      {.servers = 1, .workers = 1, .heartbeat_timeout = absl::Minutes(10)});
  REQUIRE(cluster.ok());
  RegisterRequest silent;
  silent.set_host("silent-host");
  silent.set_grpc_address("127.0.0.1:1");
  auto registered = (*cluster)->client().RegisterWorker(silent);
  REQUIRE(registered.ok());
  JobSpec spec = FashionMnistJob({}, /*epochs=*/1, 1, 2);
  spec.mutable_training()->set_staleness(-1);
  spec.mutable_training()->set_stall_timeout_seconds(1);
  SubmitJobRequest request;
  *request.mutable_spec() = spec;
  auto submitted = (*cluster)->client().SubmitJob(request);
  REQUIRE(submitted.ok());
  // The silent worker never reports, so it is late once rank 0 has finished
  // and the stall timeout has passed.
  std::optional<JobStatus> stalled;
  for (int i = 0; i < 600 && !stalled; ++i) {
    auto job = (*cluster)->client().GetJob(submitted->job_id());
    REQUIRE(job.ok());
    REQUIRE(job->state() == RUNNING);
    if (job->late_workers_size() > 0) stalled = *job;
    absl::SleepFor(absl::Milliseconds(50));
  }
  REQUIRE(stalled.has_value());
  CHECK(stalled->workers_finished() == 1);
  REQUIRE(stalled->late_workers_size() == 1);
  CHECK(stalled->late_workers(0).worker_id() == registered->node_id());
  CHECK(stalled->late_workers(0).host() == "silent-host");
  CHECK(stalled->stalled_seconds() >= 1.0);
}

}  // namespace
}  // namespace petrel::testing

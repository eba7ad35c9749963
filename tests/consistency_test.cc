// Whole jobs under BSP are bit-for-bit reproducible for a given seed and
// cluster shape, and a different seed gives a different model.
#define CATCH_CONFIG_MAIN
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
  auto tables = cli::FetchParameters(*map);
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

}  // namespace
}  // namespace petrel::testing

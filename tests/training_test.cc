// Training across 2 servers and 2 workers, all in this process, reaches real
// accuracy; and the daemons' status pages show what they did.
#define CATCH_CONFIG_MAIN
#include "catch2/catch.hpp"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/in_process_cluster.h"

namespace petrel::testing {
namespace {

nlohmann::json GetStatus(int http_port) {
  httplib::Client client("127.0.0.1", http_port);
  auto response = client.Get("/status");
  REQUIRE(response);
  REQUIRE(response->status == 200);
  return nlohmann::json::parse(response->body);
}

TEST_CASE("an MLP trains to real accuracy on 2 servers and 2 workers") {
  auto cluster = InProcessCluster::Start({});
  REQUIRE(cluster.ok());
  auto job = (*cluster)->RunJob(FashionMnistJob({64}, /*epochs=*/2, 2, 2), absl::Minutes(4));
  REQUIRE(job.ok());
  INFO(job->error());
  REQUIRE(job->state() == SUCCEEDED);
  CHECK(job->has_test_accuracy());
  CHECK(job->test_accuracy() >= 0.83f);  // chance is 0.10
  CHECK(job->workers_finished() == 2);
  CHECK(job->accuracy_history_size() >= 2);
  for (const WorkerProgress& worker : job->workers()) {
    CHECK(worker.step() == 2 * job->steps_per_epoch());
    CHECK(worker.train_loss() < 0.6f);
  }

  // Each server holds a range of every table and served both workers.
  for (int i = 0; i < 2; ++i) {
    nlohmann::json status = GetStatus((*cluster)->server(i).ports().http_port);
    CHECK(status["role"] == "server");
    REQUIRE(status["jobs"].size() == 1);
    const nlohmann::json& held = status["jobs"][0];
    CHECK(held["shards"].size() == 4);  // 2 layers x (weights, bias)
    CHECK(held["pushes_served"].get<int64_t>() >= 2 * 2 * job->steps_per_epoch());
    CHECK(held["bytes_in"].get<int64_t>() > 0);
    CHECK(held["worker_clocks"].size() == 2);
  }
  nlohmann::json coordinator = GetStatus((*cluster)->coordinator_http_port());
  CHECK(coordinator["role"] == "coordinator");
  CHECK(coordinator["nodes"].size() == 4);
  for (const nlohmann::json& node : coordinator["nodes"]) CHECK(node["alive"] == true);
  REQUIRE(coordinator["jobs"].size() == 1);
  CHECK(coordinator["jobs"][0]["state"] == "SUCCEEDED");
  CHECK(coordinator["jobs"][0]["workers"].size() == 2);
  nlohmann::json worker = GetStatus((*cluster)->worker(0).ports().http_port);
  CHECK(worker["role"] == "worker");
  CHECK(worker["device"].get<std::string>().rfind("cpu", 0) == 0);
}

TEST_CASE("a cancelled job stops its workers and frees them for the next job") {
  auto cluster = InProcessCluster::Start({.servers = 1, .workers = 1});
  REQUIRE(cluster.ok());
  SubmitJobRequest request;
  *request.mutable_spec() = FashionMnistJob({32}, /*epochs=*/50, 1, 1);
  auto first = (*cluster)->client().SubmitJob(request);
  REQUIRE(first.ok());
  // Wait until it trains, then cancel.
  for (int i = 0; i < 200; ++i) {
    auto job = (*cluster)->client().GetJob(first->job_id());
    REQUIRE(job.ok());
    if (job->workers_size() > 0 && job->workers(0).step() > 0) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  auto cancelled = (*cluster)->client().CancelJob(first->job_id());
  REQUIRE(cancelled.ok());
  CHECK(cancelled->state() == CANCELLED);
  auto again = (*cluster)->client().CancelJob(first->job_id());
  CHECK(again.status().code() == absl::StatusCode::kFailedPrecondition);

  auto job = (*cluster)->RunJob(FashionMnistJob({}, /*epochs=*/1, 1, 1), absl::Minutes(3));
  REQUIRE(job.ok());
  INFO(job->error());
  CHECK(job->state() == SUCCEEDED);
}

TEST_CASE("a job the cluster cannot host waits in the queue") {
  auto cluster = InProcessCluster::Start({.servers = 1, .workers = 1});
  REQUIRE(cluster.ok());
  SubmitJobRequest request;
  *request.mutable_spec() = FashionMnistJob({}, 1, /*servers=*/3, /*workers=*/1);
  auto submitted = (*cluster)->client().SubmitJob(request);
  REQUIRE(submitted.ok());
  absl::SleepFor(absl::Milliseconds(500));
  auto job = (*cluster)->client().GetJob(submitted->job_id());
  REQUIRE(job.ok());
  CHECK(job->state() == QUEUED);
  CHECK((*cluster)->client().GetShardMap(submitted->job_id()).status().code() ==
        absl::StatusCode::kUnavailable);
}

TEST_CASE("an invalid job is refused at submission, naming the field") {
  auto cluster = InProcessCluster::Start({.servers = 1, .workers = 1});
  REQUIRE(cluster.ok());
  SubmitJobRequest request;
  *request.mutable_spec() = FashionMnistJob({}, 1, 1, 1);
  request.mutable_spec()->mutable_training()->set_batch_size(0);
  auto submitted = (*cluster)->client().SubmitJob(request);
  CHECK(submitted.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(submitted.status().message()).find("training.batch_size") != std::string::npos);
  auto jobs = (*cluster)->client().ListJobs();
  REQUIRE(jobs.ok());
  CHECK(jobs->jobs_size() == 0);
  CHECK((*cluster)->client().GetJob("job-404").status().code() == absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace petrel::testing

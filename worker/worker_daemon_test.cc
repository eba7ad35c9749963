// A worker on a fake coordinator: it registers the devices its --device
// allows, and a job whose cluster.device it does not offer (an older
// coordinator, or a race) is refused with a failure report that names the
// device, instead of being trained on the CPU. And two workers in one process
// each log through their own logger, with their own ids.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/coordinator_client.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "worker/worker_daemon.h"

namespace petrel::worker {
namespace {

// Registers anyone as worker-0 and hands it `assignment` with every
// heartbeat (a coordinator slow to act on the refusal); records what it was
// told.
class FakeCoordinator : public CoordinatorClient {
 public:
  struct Seen {
    absl::Mutex mu;
    RegisterRequest registration ABSL_GUARDED_BY(mu);
    std::vector<ReportProgressRequest> reports ABSL_GUARDED_BY(mu);
    int shard_map_calls ABSL_GUARDED_BY(mu) = 0;
    JobAssignment assignment ABSL_GUARDED_BY(mu);
  };
  explicit FakeCoordinator(Seen* seen, std::string node_id = "worker-0")
      : seen_(seen), node_id_(std::move(node_id)) {}

  absl::StatusOr<RegisterResponse> RegisterWorker(const RegisterRequest& request) override {
    absl::MutexLock lock(&seen_->mu);
    seen_->registration = request;
    RegisterResponse response;
    response.set_node_id(node_id_);
    response.set_heartbeat_interval_seconds(0.02);
    return response;
  }
  absl::StatusOr<HeartbeatResponse> Heartbeat(const HeartbeatRequest&) override {
    absl::MutexLock lock(&seen_->mu);
    HeartbeatResponse response;
    if (seen_->assignment.state() == RUNNING) *response.add_jobs() = seen_->assignment;
    return response;
  }
  absl::StatusOr<ReportProgressResponse> ReportProgress(
      const ReportProgressRequest& request) override {
    absl::MutexLock lock(&seen_->mu);
    seen_->reports.push_back(request);
    ReportProgressResponse response;
    response.set_state(seen_->assignment.state());
    return response;
  }
  absl::StatusOr<ShardMap> GetShardMap(const std::string&) override {
    absl::MutexLock lock(&seen_->mu);
    ++seen_->shard_map_calls;
    return absl::UnavailableError("fake: no servers");
  }

  absl::StatusOr<RegisterResponse> RegisterServer(const RegisterRequest&) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<SubmitJobResponse> SubmitJob(const SubmitJobRequest&) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<JobStatus> GetJob(const std::string&) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<ListJobsResponse> ListJobs() override { return absl::UnimplementedError("fake"); }
  absl::StatusOr<JobStatus> CancelJob(const std::string&) override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<ClusterStatus> GetClusterStatus() override {
    return absl::UnimplementedError("fake");
  }
  absl::StatusOr<ReportUnreachableResponse> ReportUnreachable(
      const ReportUnreachableRequest&) override {
    return absl::UnimplementedError("fake");
  }

 private:
  Seen* const seen_;
  const std::string node_id_;
};

// Rank 1 of a 2-worker job on attempt 2, joined at clock 7.
JobAssignment AssignmentOn(const std::string& device) {
  JobAssignment job;
  job.set_job_id("job-3");
  job.set_state(RUNNING);
  job.mutable_spec()->mutable_cluster()->set_device(device);
  job.set_rank(1);
  job.set_num_workers(2);
  job.set_attempt(2);
  job.add_workers()->set_worker_id("worker-9");
  WorkerSlot* mine = job.add_workers();
  mine->set_worker_id("worker-0");
  mine->set_join_clock(7);
  return job;
}

TEST_CASE("a --device cpu worker offers only the CPU and refuses a cuda:0 job with the reason") {
  FakeCoordinator::Seen seen;
  WorkerDaemon::Options options;
  options.coordinator_address = "fake:1";
  options.device = "cpu";
  auto daemon = WorkerDaemon::Start(options, std::make_unique<FakeCoordinator>(&seen));
  REQUIRE(daemon.ok());
  {
    absl::MutexLock lock(&seen.mu);
    CHECK(std::vector<std::string>(seen.registration.devices().begin(),
                                   seen.registration.devices().end()) ==
          std::vector<std::string>{"cpu"});
    CHECK(absl::StartsWith(seen.registration.device(), "cpu"));
    seen.assignment = AssignmentOn("cuda:0");
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  auto refused = [&seen] {
    seen.mu.AssertHeld();
    return !seen.reports.empty();
  };
  {
    absl::MutexLock lock(&seen.mu);
    seen.mu.AwaitWithDeadline(absl::Condition(&refused), deadline);
    REQUIRE(seen.reports.size() == 1);
    const ReportProgressRequest& report = seen.reports[0];
    INFO(report.DebugString());
    // The report speaks for this stint on the rank, so the coordinator
    // takes it and fails the job with the reason.
    CHECK(report.job_id() == "job-3");
    CHECK(report.worker_id() == "worker-0");
    CHECK(report.rank() == 1);
    CHECK(report.attempt() == 2);
    CHECK(report.join_clock() == 7);
    CHECK(absl::StrContains(report.error(), "FAILED_PRECONDITION"));
    CHECK(absl::StrContains(report.error(), "cluster.device is \"cuda:0\""));
    CHECK(absl::StrContains(report.error(), "offers only cpu"));
    // No trainer started: it never looked for the job's servers.
    CHECK(seen.shard_map_calls == 0);
  }
  // It refuses once, not at every heartbeat, and stays idle.
  absl::SleepFor(absl::Milliseconds(200));
  CHECK(!(*daemon)->StatusJson().contains("job"));
  absl::MutexLock lock(&seen.mu);
  CHECK(seen.reports.size() == 1);
}

TEST_CASE("two workers in one process log with their own ids, not through the default logger") {
  std::ostringstream default_out;
  auto default_sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(default_out);
  default_sink->set_pattern("[default] %v");
  auto saved_default = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("default", default_sink));

  FakeCoordinator::Seen first_seen, second_seen;
  std::ostringstream first_out, second_out;
  WorkerDaemon::Options options;
  options.coordinator_address = "fake:1";
  options.device = "cpu";
  options.log_sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(first_out);
  auto first = WorkerDaemon::Start(options, std::make_unique<FakeCoordinator>(&first_seen, "worker-1"));
  options.log_sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(second_out);
  auto second =
      WorkerDaemon::Start(options, std::make_unique<FakeCoordinator>(&second_seen, "worker-2"));
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  (*first)->logger().info("a line of the first");
  (*second)->logger().info("a line of the second");
  first->reset();
  second->reset();
  spdlog::set_default_logger(saved_default);

  INFO("first:\n" << first_out.str() << "second:\n" << second_out.str() << "default:\n"
                   << default_out.str());
  // Before registration the role alone; after it, the role and the id.
  CHECK(absl::StrContains(first_out.str(), "[worker] offering jobs the devices [cpu]"));
  CHECK(absl::StrContains(first_out.str(), "[worker worker-1] registered as worker-1"));
  CHECK(absl::StrContains(first_out.str(), "[worker worker-1] a line of the first"));
  CHECK(absl::StrContains(second_out.str(), "[worker worker-2] registered as worker-2"));
  CHECK(absl::StrContains(second_out.str(), "[worker worker-2] a line of the second"));
  CHECK_FALSE(absl::StrContains(first_out.str(), "worker-2"));
  CHECK_FALSE(absl::StrContains(second_out.str(), "worker-1"));
  // Neither daemon wrote its lines to, or changed the pattern of, the
  // default logger.
  CHECK_FALSE(absl::StrContains(default_out.str(), "registered as"));
  CHECK_FALSE(absl::StrContains(default_out.str(), "[worker"));
}

}  // namespace
}  // namespace petrel::worker

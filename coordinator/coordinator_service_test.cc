// The coordinator's failure detection on a fake liveness probe: a node that
// falls silent is probed where it serves (a server's gRPC address, a
// worker's /healthz), with the configured deadline; one that does not answer
// is declared dead, one that answers stays alive; nodes still heard from
// are never probed. A worker's report that a job's server is unreachable
// probes that job's servers at once.
#define CATCH_CONFIG_MAIN
#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "catch2/catch.hpp"
#include "common/jobspec/job_file.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/fake_liveness_probe.h"
#include "coordinator/fake_round_closer.h"

namespace petrel::coordinator {
namespace {

constexpr absl::Duration kTimeout = absl::Milliseconds(50);

struct Cluster {
  std::shared_ptr<FakeLivenessProbe> probe = std::make_shared<FakeLivenessProbe>();
  std::shared_ptr<FakeRoundCloser> closer = std::make_shared<FakeRoundCloser>();
  std::unique_ptr<CoordinatorService> service;
  std::string server_id, worker_id;

  Cluster() {
    CoordinatorService::Options options;
    options.heartbeat_timeout = kTimeout;
    options.probe_deadline = absl::Milliseconds(123);
    options.liveness_probe = probe;
    options.round_closer = closer;
    service = std::make_unique<CoordinatorService>(options);
    server_id = Register(/*server=*/true, "10.0.0.1:4000", "10.0.0.1:8000");
    worker_id = Register(/*server=*/false, "10.0.0.2:5000", "10.0.0.2:8080");
  }

  std::string Register(bool server, const std::string& grpc, const std::string& http) {
    RegisterRequest request;
    request.set_host(server ? "server-host" : "worker-host");
    request.set_grpc_address(grpc);
    request.set_http_address(http);
    RegisterResponse response;
    const absl::Status status = server ? service->RegisterServer(request, &response)
                                       : service->RegisterWorker(request, &response);
    REQUIRE(status.ok());
    return response.node_id();
  }

  void Heartbeat(const std::string& id) {
    HeartbeatRequest request;
    request.set_node_id(id);
    HeartbeatResponse response;
    REQUIRE(service->Heartbeat(request, &response).ok());
  }

  // node id -> alive
  std::map<std::string, bool> Alive() {
    ClusterStatus status;
    REQUIRE(service->GetClusterStatus(GetClusterStatusRequest(), &status).ok());
    std::map<std::string, bool> alive;
    for (const NodeStatus& node : status.nodes()) alive[node.node_id()] = node.alive();
    return alive;
  }
};

TEST_CASE("nodes heard from within the timeout are not probed") {
  Cluster cluster;
  cluster.service->Tick();
  CHECK(cluster.probe->probes().empty());
  CHECK(cluster.Alive() == std::map<std::string, bool>{{cluster.server_id, true},
                                                       {cluster.worker_id, true}});
}

TEST_CASE("a silent server that does not answer its probe is declared dead") {
  Cluster cluster;
  cluster.probe->SetAnswers("10.0.0.1:4000", false);
  absl::SleepFor(2 * kTimeout);
  cluster.service->Tick();

  const std::vector<FakeLivenessProbe::Probe> probes = cluster.probe->probes();
  REQUIRE(probes.size() == 2);
  for (const FakeLivenessProbe::Probe& probe : probes) {
    CHECK(probe.deadline == absl::Milliseconds(123));
    // Servers on their gRPC address, workers on their status address.
    CHECK(probe.address == (probe.server ? "10.0.0.1:4000" : "10.0.0.2:8080"));
  }
  // The worker answered: silent, but there.
  CHECK(cluster.Alive() == std::map<std::string, bool>{{cluster.server_id, false},
                                                       {cluster.worker_id, true}});

  // A dead node is not probed again; the silent worker is.
  cluster.service->Tick();
  const std::vector<FakeLivenessProbe::Probe> again = cluster.probe->probes();
  REQUIRE(again.size() == 3);
  CHECK_FALSE(again[2].server);
}

TEST_CASE("a silent worker that does not answer is declared dead; a heartbeat saves a node") {
  Cluster cluster;
  cluster.probe->SetAnswers("10.0.0.2:8080", false);
  cluster.probe->SetAnswers("10.0.0.1:4000", false);
  absl::SleepFor(2 * kTimeout);
  cluster.Heartbeat(cluster.server_id);  // heard again just in time
  cluster.service->Tick();

  const std::vector<FakeLivenessProbe::Probe> probes = cluster.probe->probes();
  REQUIRE(probes.size() == 1);
  CHECK_FALSE(probes[0].server);
  CHECK(cluster.Alive() == std::map<std::string, bool>{{cluster.server_id, true},
                                                       {cluster.worker_id, false}});
}

// A one-server, one-worker softmax job, running once submitted.
std::string RunningJob(Cluster& cluster) {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      "model:\n  type: softmax\n  input_dim: 784\n  num_classes: 10\n"
      "data:\n  path: /tmp/data\n"
      "optimizer:\n  learning_rate: 0.1\n"
      "training:\n  batch_size: 32\n"
      "cluster:\n  servers: 1\n  workers: 1\n",
      "job.yaml");
  REQUIRE(spec.ok());
  SubmitJobRequest request;
  *request.mutable_spec() = *spec;
  SubmitJobResponse response;
  REQUIRE(cluster.service->SubmitJob(request, &response).ok());
  GetJobRequest get;
  get.set_job_id(response.job_id());
  JobStatus job;
  REQUIRE(cluster.service->GetJob(get, &job).ok());
  REQUIRE(job.state() == RUNNING);
  return response.job_id();
}

TEST_CASE("a reported server that does not answer its probe is declared dead at once") {
  Cluster cluster;
  const std::string job = RunningJob(cluster);
  cluster.probe->SetAnswers("10.0.0.1:4000", false);
  ReportUnreachableRequest request;
  request.set_job_id(job);
  request.set_reporter(cluster.worker_id);
  request.set_error("connection refused");
  ReportUnreachableResponse response;
  REQUIRE(cluster.service->ReportUnreachable(request, &response).ok());
  CHECK(response.declared_dead());
  const std::vector<FakeLivenessProbe::Probe> probes = cluster.probe->probes();
  REQUIRE(probes.size() == 1);
  CHECK(probes[0].server);
  CHECK(probes[0].address == "10.0.0.1:4000");
  CHECK(cluster.Alive()[cluster.server_id] == false);
}

TEST_CASE("a reported server that answers its probe stays") {
  Cluster cluster;
  const std::string job = RunningJob(cluster);
  ReportUnreachableRequest request;
  request.set_job_id(job);
  request.set_reporter(cluster.worker_id);
  ReportUnreachableResponse response;
  REQUIRE(cluster.service->ReportUnreachable(request, &response).ok());
  CHECK_FALSE(response.declared_dead());
  CHECK(cluster.probe->probes().size() == 1);
  CHECK(cluster.Alive()[cluster.server_id] == true);
}

TEST_CASE("a report of an unknown job's servers probes no one and declares no one dead") {
  Cluster cluster;
  ReportUnreachableRequest request;
  request.set_job_id("job-404");
  request.set_reporter(cluster.worker_id);
  ReportUnreachableResponse response;
  REQUIRE(cluster.service->ReportUnreachable(request, &response).ok());
  CHECK_FALSE(response.declared_dead());
  CHECK(cluster.probe->probes().empty());
  CHECK(cluster.closer->closes().empty());  // no federated job, no round closed
}

}  // namespace
}  // namespace petrel::coordinator

// Fault cases where a process is not the point, on an InProcessCluster whose
// daemons are killed and restarted (in_process_cluster.h says how abrupt a
// kill is): a worker replaced, and the coordinator restarted with a job in
// flight. tests/fault/*.sh keep what needs real processes (kill -9
// mid-write, SIGSTOP, the CLI's view); in_process_failover_test.cc says why
// a primary lost under replication is not here yet.
#define CATCH_CONFIG_MAIN
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "catch2/catch.hpp"
#include "tests/in_process_cluster.h"

namespace petrel::testing {
namespace {

// The fault tests' job (tests/testdata/fault_softmax.yaml): BSP softmax
// with momentum, about 1870 clocks.
JobSpec FaultJob(int replication) {
  JobSpec spec = FashionMnistJob({}, /*epochs=*/4, /*servers=*/2, /*workers=*/2);
  spec.set_name("fault-softmax");
  spec.mutable_training()->set_staleness(0);
  spec.mutable_training()->set_seed(7);
  spec.mutable_training()->set_eval_every_steps(200);
  spec.mutable_cluster()->set_replication(replication);
  return spec;
}

JobStatus GetJob(InProcessCluster& cluster, const std::string& job_id) {
  auto job = cluster.client().GetJob(job_id);
  REQUIRE(job.ok());
  return *job;
}

std::set<std::string> ServersOf(const JobStatus& job) {
  std::set<std::string> servers;
  for (const ShardGroup& group : job.groups()) {
    servers.insert(group.servers().begin(), group.servers().end());
  }
  return servers;
}

// tests/fault/worker_replacement_test.sh's first half without the
// processes; that test keeps kill -9 and the frozen (SIGSTOP) worker.
TEST_CASE("a killed worker's rank goes to a new worker and the job succeeds as accurate") {
  auto cluster = InProcessCluster::Start(
      {.servers = 2, .workers = 2, .heartbeat_timeout = absl::Seconds(1)});
  REQUIRE(cluster.ok());
  InProcessCluster& c = **cluster;
  const JobSpec spec = FaultJob(/*replication=*/1);
  auto reference = c.RunJob(spec, absl::Minutes(3));
  REQUIRE(reference.ok());
  REQUIRE(reference->state() == SUCCEEDED);

  auto job_id = c.SubmitJob(spec);
  REQUIRE(job_id.ok());
  REQUIRE(c.WaitForClock(*job_id, 500, absl::Minutes(2)).ok());
  const std::string killed = c.worker(1).id();
  c.KillWorker(1);
  REQUIRE(c.RestartWorker(1).ok());
  const std::string replacement = c.worker(1).id();
  CHECK(replacement != killed);

  auto ended = c.WaitForJob(*job_id, absl::Minutes(3));
  REQUIRE(ended.ok());
  INFO(ended->error());
  REQUIRE(ended->state() == SUCCEEDED);
  std::set<std::string> ranked;
  for (const WorkerProgress& worker : ended->workers()) ranked.insert(worker.worker_id());
  CHECK(ranked == std::set<std::string>{c.worker(0).id(), replacement});
  CHECK(ended->test_accuracy() == Approx(reference->test_accuracy()).margin(0.01));
}

std::string ScratchDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

// Was tests/fault/coordinator_restart_test.sh.
TEST_CASE("a coordinator restarted on its state directory mid-job reloads it and the job "
          "succeeds, its nodes keeping their ids") {
  InProcessCluster::Options options{.servers = 2, .workers = 2,
                                    .heartbeat_timeout = absl::Seconds(1)};
  options.coordinator_state_dir = ScratchDir("coordinator_state");
  auto cluster = InProcessCluster::Start(options);
  REQUIRE(cluster.ok());
  InProcessCluster& c = **cluster;
  REQUIRE(c.WaitForAliveNodes(4, absl::Seconds(30)).ok());
  const std::set<std::string> ids = {c.server(0).id(), c.server(1).id(), c.worker(0).id(),
                                     c.worker(1).id()};

  auto job_id = c.SubmitJob(FaultJob(/*replication=*/1));
  REQUIRE(job_id.ok());
  REQUIRE(c.WaitForClock(*job_id, 400, absl::Minutes(2)).ok());
  const JobStatus before = GetJob(c, *job_id);
  c.KillCoordinator();
  // Training never needs the coordinator: it goes on while it is down.
  absl::SleepFor(absl::Seconds(1));
  REQUIRE(c.RestartCoordinator().ok());

  // Reloaded: the job, its placement and the nodes (counted alive until
  // their heartbeat timeout). The wait rides out the client's reconnection.
  REQUIRE(c.WaitForAliveNodes(4, absl::Seconds(30)).ok());
  const JobStatus restored = GetJob(c, *job_id);
  CHECK(restored.state() == RUNNING);
  CHECK(restored.shard_map_epoch() == before.shard_map_epoch());
  CHECK(ServersOf(restored) == ServersOf(before));
  auto cluster_status = c.client().GetClusterStatus();
  REQUIRE(cluster_status.ok());
  std::set<std::string> known;
  for (const NodeStatus& node : cluster_status->nodes()) known.insert(node.node_id());
  CHECK(known == ids);

  auto ended = c.WaitForJob(*job_id, absl::Minutes(3));
  REQUIRE(ended.ok());
  INFO(ended->error());
  REQUIRE(ended->state() == SUCCEEDED);
  CHECK(ended->test_accuracy() >= 0.75f);
  // Same ids after the restart, and no node registered anew.
  CHECK(std::set<std::string>{c.server(0).id(), c.server(1).id(), c.worker(0).id(),
                              c.worker(1).id()} == ids);
  cluster_status = c.client().GetClusterStatus();
  REQUIRE(cluster_status.ok());
  CHECK(cluster_status->nodes_size() == 4);
  for (const NodeStatus& node : cluster_status->nodes()) CHECK(node.alive());
}

}  // namespace
}  // namespace petrel::testing

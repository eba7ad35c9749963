// tests/fault/primary_failover_test.sh in one process: under replication 2
// a primary is killed, its backup takes over, the replicas are rebuilt on a
// new server, the other original server is killed too, and the job ends
// with the parameters of an undisturbed run.
//
// "manual" (not part of //...): in one process it deadlocks for tens of
// seconds whenever the rebuild overlaps the workers' pushes, which on a
// 2-core machine is most runs. JobShards::Transfer
// (server/job_shards_replica.cc) holds the JobShards mutex across the
// blocking InstallReplica call to the new server, and the workers' pushes to
// the sending server block on that mutex in gRPC callback threads. gRPC's
// callback threads are shared by every server in a process (1.51: two on
// two cores), so no thread is left to run the new server's InstallReplica
// handler until the call's deadline. Separate processes (the shell test) do
// not share those threads. Run it by name once the transfer no longer holds
// the mutex over the call (or handlers no longer block gRPC threads):
//   bazel test //tests:in_process_failover_test
// It also needs a worker that reroutes a push-pull that a shutting-down
// server failed with CANCELLED (grpc/grpc#41785): a destroyed server does
// that to calls it had not yet handed to a handler, and today the trainer
// takes CANCELLED for its own stop and ends without a word, so the BSP job
// waits for it forever.
#define CATCH_CONFIG_MAIN
#include <set>
#include <string>

#include "catch2/catch.hpp"
#include "common/jobspec/partition.h"
#include "tests/in_process_cluster.h"
#include "tools/cli/model_export.h"

namespace petrel::testing {
namespace {

// The fault tests' job (tests/testdata/fault_softmax.yaml) with replication
// 2: BSP softmax with momentum, about 1870 clocks.
JobSpec FaultJob() {
  JobSpec spec = FashionMnistJob({}, /*epochs=*/4, /*servers=*/2, /*workers=*/2);
  spec.set_name("fault-softmax");
  spec.mutable_training()->set_staleness(0);
  spec.mutable_training()->set_seed(7);
  spec.mutable_training()->set_eval_every_steps(200);
  spec.mutable_cluster()->set_replication(2);
  return spec;
}

std::string ParamsSha256(InProcessCluster& cluster, const std::string& job_id) {
  auto map = cluster.client().GetShardMap(job_id);
  REQUIRE(map.ok());
  auto tables = cli::FetchParameters(*map, cluster.channels());
  REQUIRE(tables.ok());
  return cli::ParamsSha256(*map, *tables);
}

JobStatus GetJob(InProcessCluster& cluster, const std::string& job_id) {
  auto job = cluster.client().GetJob(job_id);
  REQUIRE(job.ok());
  return *job;
}

// Every group's chain as long as `replication`, all of it holding the state.
bool ChainsWhole(const JobStatus& job, int replication) {
  for (const ShardGroup& group : job.groups()) {
    if (group.servers_size() != replication || ReadyServers(group) != replication) return false;
  }
  return job.groups_size() > 0;
}

std::set<std::string> ServersOf(const JobStatus& job) {
  std::set<std::string> servers;
  for (const ShardGroup& group : job.groups()) {
    servers.insert(group.servers().begin(), group.servers().end());
  }
  return servers;
}

TEST_CASE("under replication 2 a lost primary's backup takes over, replicas are rebuilt, "
          "and the parameters equal an undisturbed run's") {
  auto cluster = InProcessCluster::Start(
      {.servers = 2, .workers = 2, .heartbeat_timeout = absl::Seconds(1)});
  REQUIRE(cluster.ok());
  InProcessCluster& c = **cluster;
  const JobSpec spec = FaultJob();

  auto reference = c.RunJob(spec, absl::Minutes(3));
  REQUIRE(reference.ok());
  INFO(reference->error());
  REQUIRE(reference->state() == SUCCEEDED);
  const std::string reference_sha = ParamsSha256(c, reference->job_id());

  auto job_id = c.SubmitJob(spec);
  REQUIRE(job_id.ok());
  REQUIRE(c.WaitForClock(*job_id, 300, absl::Minutes(2)).ok());
  // Each server heads one group and backs up the other: server 0 is a primary.
  const std::string first = c.server(0).id();
  const std::string second = c.server(1).id();
  c.KillServer(0);
  REQUIRE(c.RestartServer(0).ok());  // a new server, with room for replicas
  const std::string rebuilt_on = c.server(0).id();
  CHECK(rebuilt_on != first);

  // The backup heads the dead primary's group, and both chains grow back to
  // two servers once the new one holds their state.
  JobStatus job;
  for (int i = 0; i < 600; ++i) {
    job = GetJob(c, *job_id);
    if (job.state() != RUNNING || (ChainsWhole(job, 2) && !ServersOf(job).count(first))) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  INFO(job.error());
  REQUIRE(job.state() == RUNNING);
  REQUIRE(ChainsWhole(job, 2));
  CHECK(ServersOf(job) == std::set<std::string>{second, rebuilt_on});
  CHECK(job.groups(0).servers(0) == second);  // promoted
  const int64_t repaired_epoch = job.shard_map_epoch();

  // The other original server goes too: the rebuilt replicas carry on alone.
  c.KillServer(1);
  auto ended = c.WaitForJob(*job_id, absl::Minutes(3));
  REQUIRE(ended.ok());
  INFO(ended->error());
  REQUIRE(ended->state() == SUCCEEDED);
  CHECK(ServersOf(*ended) == std::set<std::string>{rebuilt_on});
  CHECK(ended->shard_map_epoch() > repaired_epoch);
  CHECK(ended->attempt() == 0);  // no restart from a checkpoint
  CHECK(ParamsSha256(c, *job_id) == reference_sha);
}

}  // namespace
}  // namespace petrel::testing

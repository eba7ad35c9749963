// JobManager's scheduling by cluster.device: a job goes only to workers that
// offer its device, waits QUEUED saying why when there are none, and a
// departed rank goes only to a worker that can train on the job's device.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/jobspec/job_file.h"
#include "coordinator/job_manager.h"
#include "coordinator/membership.h"

namespace petrel::coordinator {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

JobSpec Job(int workers, const std::string& device) {
  const std::string yaml = absl::StrCat(
      "model:\n  type: softmax\n  input_dim: 784\n  num_classes: 10\n"
      "data:\n  path: /tmp/data\n"
      "optimizer:\n  learning_rate: 0.1\n"
      "training:\n  batch_size: 32\n"
      "cluster:\n  servers: 1\n  workers: ",
      workers, "\n  device: ", device, "\n");
  absl::StatusOr<JobSpec> spec = ParseJobYaml(yaml, "job.yaml");
  REQUIRE(spec.ok());
  return *spec;
}

// A cluster as the coordinator's membership sees it.
struct Cluster {
  Membership membership;
  JobManager jobs;

  Cluster() {
    RegisterRequest server;
    server.set_grpc_address("127.0.0.1:9000");
    membership.Register(SERVER, server, kNow);
  }
  // A worker offering `devices`, as petrel-worker registers.
  std::string Worker(std::vector<std::string> devices) {
    RegisterRequest info;
    info.set_grpc_address(absl::StrCat("127.0.0.1:", 9100 + count++));
    info.set_device(absl::StrCat(devices.back(), " (test)"));
    for (const std::string& d : devices) info.add_devices(d);
    return membership.Register(WORKER, info, kNow);
  }
  // A worker from before RegisterRequest.devices: only its description.
  std::string OldWorker(const std::string& description) {
    RegisterRequest info;
    info.set_grpc_address(absl::StrCat("127.0.0.1:", 9100 + count++));
    info.set_device(description);
    return membership.Register(WORKER, info, kNow);
  }
  void Schedule() { jobs.Schedule(membership.Alive(SERVER), membership.Alive(WORKER), kNow); }
  std::string Submit(const JobSpec& spec) {
    absl::StatusOr<std::string> id = jobs.Submit(spec, kNow);
    REQUIRE(id.ok());
    return *id;
  }
  JobStatus Get(const std::string& id) {
    absl::StatusOr<JobStatus> job = jobs.Get(id, kNow);
    REQUIRE(job.ok());
    return *job;
  }
  std::vector<std::string> WorkersOf(const std::string& id) {
    std::vector<std::string> ids;
    const JobStatus job = Get(id);
    for (const WorkerProgress& w : job.workers()) ids.push_back(w.worker_id());
    return ids;
  }
  int count = 0;
};

using Ids = std::vector<std::string>;

TEST_CASE("a cuda:0 job on CPU-only workers stays QUEUED and says why") {
  Cluster cluster;
  const std::string a = cluster.Worker({"cpu"});
  const std::string b = cluster.Worker({"cpu"});
  const std::string job = cluster.Submit(Job(2, "cuda:0"));
  cluster.Schedule();
  JobStatus status = cluster.Get(job);
  CHECK(status.state() == QUEUED);
  CHECK(status.error() == "waiting for 2 workers with cuda:0; registered: 2 with cpu only");
  CHECK(cluster.jobs.AssignmentsFor(a).empty());
  CHECK(cluster.jobs.AssignmentsFor(b).empty());

  // Two GPU workers join: the job starts on them, not on the CPU ones, and
  // no longer shows a reason.
  const std::string g0 = cluster.Worker({"cpu", "cuda:0"});
  cluster.Schedule();
  CHECK(cluster.Get(job).error() ==
        "waiting for 2 workers with cuda:0; registered: 2 with cpu only, 1 with cpu+cuda:0");
  const std::string g1 = cluster.Worker({"cuda:0"});
  cluster.Schedule();
  status = cluster.Get(job);
  CHECK(status.state() == RUNNING);
  CHECK(status.error().empty());
  CHECK(cluster.WorkersOf(job) == Ids{g0, g1});
  CHECK(cluster.jobs.AssignmentsFor(a).empty());
}

TEST_CASE("a cpu job skips workers pinned to a GPU; an auto job takes any worker") {
  Cluster cluster;
  const std::string gpu = cluster.Worker({"cuda:0"});   // petrel-worker --device cuda:0
  const std::string cpu = cluster.Worker({"cpu"});
  const std::string both = cluster.Worker({"cpu", "cuda:0", "cuda:1"});
  const std::string on_cpu = cluster.Submit(Job(1, "cpu"));
  const std::string on_gpu1 = cluster.Submit(Job(1, "cuda:1"));
  const std::string any = cluster.Submit(Job(1, "auto"));
  cluster.Schedule();
  CHECK(cluster.WorkersOf(on_cpu) == Ids{cpu});
  CHECK(cluster.WorkersOf(on_gpu1) == Ids{both});
  CHECK(cluster.WorkersOf(any) == Ids{gpu});
  for (const std::string& id : {on_cpu, on_gpu1, any}) CHECK(cluster.Get(id).state() == RUNNING);
}

TEST_CASE("a worker that registers no device list offers the device it describes") {
  Cluster cluster;
  const std::string old_cpu = cluster.OldWorker("cpu (OpenBLAS, 1 threads)");
  const std::string old_gpu = cluster.OldWorker("cuda:0 (NVIDIA H100, 79.1 GiB, sm_90)");
  const std::string job = cluster.Submit(Job(1, "cuda:0"));
  cluster.Schedule();
  CHECK(cluster.WorkersOf(job) == Ids{old_gpu});
  const std::string second = cluster.Submit(Job(2, "cpu"));
  cluster.Schedule();
  CHECK(cluster.Get(second).state() == QUEUED);
  CHECK(cluster.Get(second).error() ==
        "waiting for 2 workers with cpu; registered: 1 with cpu only, 1 with cuda:0 only");
  (void)old_cpu;
}

TEST_CASE("jobs behind a waiting one say so, and start in order once it is gone") {
  Cluster cluster;
  const std::string w0 = cluster.Worker({"cpu"});
  const std::string w1 = cluster.Worker({"cpu"});
  const std::string stuck = cluster.Submit(Job(2, "cuda:0"));
  const std::string next = cluster.Submit(Job(2, "cpu"));
  cluster.Schedule();
  CHECK(cluster.Get(next).state() == QUEUED);
  CHECK(cluster.Get(next).error() ==
        absl::StrCat("queued behind ", stuck, " (jobs start in the order they were submitted)"));
  REQUIRE(cluster.jobs.Cancel(stuck, kNow).ok());
  cluster.Schedule();
  const JobStatus status = cluster.Get(next);
  CHECK(status.state() == RUNNING);
  CHECK(status.error().empty());
  CHECK(cluster.WorkersOf(next) == Ids{w0, w1});
}

TEST_CASE("busy workers that offer the device: the reason says they are busy") {
  Cluster cluster;
  const std::string g0 = cluster.Worker({"cpu", "cuda:0"});
  cluster.Worker({"cpu", "cuda:0"});
  const std::string first = cluster.Submit(Job(1, "cuda:0"));
  const std::string second = cluster.Submit(Job(2, "cuda:0"));
  cluster.Schedule();
  CHECK(cluster.WorkersOf(first) == Ids{g0});
  CHECK(cluster.Get(second).error() ==
        "waiting for 2 idle workers with cuda:0; 2 offer it, 1 of them idle");
}

TEST_CASE("a departed rank goes only to a worker that offers the job's device") {
  Cluster cluster;
  const std::string g0 = cluster.Worker({"cuda:0"});
  const std::string g1 = cluster.Worker({"cuda:0"});
  const std::string job = cluster.Submit(Job(2, "cuda:0"));
  cluster.Schedule();
  REQUIRE(cluster.WorkersOf(job) == Ids{g0, g1});
  cluster.membership.MarkDead(g1);
  cluster.jobs.HandleDeadNodes({g1}, cluster.membership, kNow);
  const std::string cpu = cluster.Worker({"cpu"});
  cluster.Schedule();
  CHECK(cluster.WorkersOf(job) == Ids{g0, g1});  // rank 1 still waits
  CHECK(cluster.jobs.AssignmentsFor(cpu).empty());
  const std::string g2 = cluster.Worker({"cpu", "cuda:0"});
  cluster.Schedule();
  CHECK(cluster.WorkersOf(job) == Ids{g0, g2});
}

}  // namespace
}  // namespace petrel::coordinator

// JobManager's state machine (drawn at the top of job_manager.h): each
// transition, and each refused event, which must change nothing. Scheduling
// by device is job_manager_test.cc's. Not covered: QUEUED -> FAILED when
// PlaceJob fails, which needs a job with no servers, and validation refuses
// those at submission.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "checkpoint/checkpoint_cut.h"
#include "checkpoint/checkpoint_file.h"
#include "common/jobspec/job_file.h"
#include "coordinator/job_manager.h"
#include "coordinator/membership.h"

namespace petrel::coordinator {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);

std::string ScratchDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir =
      std::string(tmp != nullptr ? tmp : "/tmp") + "/job_manager_state_test/" + name;
  std::filesystem::remove_all(dir);
  return dir;
}

JobSpec Spec(int servers, int workers, int replication = 1) {
  const std::string yaml = absl::StrCat(
      "name: t\nmodel:\n  type: softmax\n  input_dim: 784\n  num_classes: 10\n"
      "data:\n  path: /tmp/data\noptimizer:\n  learning_rate: 0.1\n"
      "training:\n  batch_size: 32\n  staleness: 0\n"
      "cluster:\n  servers: ",
      servers, "\n  workers: ", workers, "\n  replication: ", replication, "\n  device: cpu\n");
  absl::StatusOr<JobSpec> spec = ParseJobYaml(yaml, "job.yaml");
  REQUIRE(spec.ok());
  return *spec;
}

// A complete cut of `groups` groups at `clock` in the job's checkpoint
// folder, as the servers write it (no ranges: it fits any model).
void WriteCut(const std::string& dir, const std::string& job_id, int groups, int64_t clock) {
  const std::string cut = server::CutDirectory(dir, job_id, clock);
  std::filesystem::create_directories(cut);
  for (int g = 0; g < groups; ++g) {
    ShardCheckpoint checkpoint;
    checkpoint.set_job_id(job_id);
    checkpoint.set_clock(clock);
    checkpoint.set_group(g);
    checkpoint.set_groups(groups);
    REQUIRE(server::WriteCheckpointFile(server::GroupFile(cut, g), checkpoint).ok());
  }
}

struct Cluster {
  Membership membership;
  JobManager jobs;

  std::string Add(NodeRole role) {
    RegisterRequest info;
    info.set_grpc_address(absl::StrCat("127.0.0.1:", 9000 + nodes++));
    info.add_devices("cpu");
    return membership.Register(role, info, kNow);
  }
  void Schedule() { jobs.Schedule(membership.Alive(SERVER), membership.Alive(WORKER), kNow); }
  void Kill(const std::string& id) {
    membership.MarkDead(id);
    jobs.HandleDeadNodes({id}, membership, kNow);
  }
  std::string Submit(const JobSpec& spec) {
    absl::StatusOr<std::string> id = jobs.Submit(spec, kNow);
    REQUIRE(id.ok());
    return *id;
  }
  // A job placed and running on fresh nodes; drops the dirty flag.
  std::string Running(const JobSpec& spec) {
    for (int i = 0; i < spec.cluster().servers(); ++i) Add(SERVER);
    for (int i = 0; i < spec.cluster().workers(); ++i) Add(WORKER);
    const std::string id = Submit(spec);
    Schedule();
    REQUIRE(State(id) == RUNNING);
    jobs.TakeDirty();
    return id;
  }
  JobStatus Get(const std::string& id) {
    absl::StatusOr<JobStatus> job = jobs.Get(id, kNow);
    REQUIRE(job.ok());
    return *job;
  }
  JobState State(const std::string& id) { return Get(id).state(); }
  // Everything the manager would show or save, to compare before and after.
  std::string Fingerprint() {
    CoordinatorState state;
    jobs.Save(&state);
    std::string all = state.SerializeAsString();
    for (const JobStatus& job : jobs.List(kNow)) all += job.SerializeAsString();
    return all;
  }
  // What rank `rank` of `job_id` would report: it, at its stint and attempt.
  ReportProgressRequest Report(const std::string& job_id, int rank) {
    const JobRecord& record = **jobs.Record(job_id);
    ReportProgressRequest report;
    report.set_job_id(job_id);
    report.set_rank(rank);
    report.set_worker_id(record.workers(rank).worker_id());
    report.set_join_clock(record.workers(rank).join_clock());
    report.set_attempt(record.attempt());
    return report;
  }
  int nodes = 0;
};

// `event` must be refused with `code` and leave the manager as it was.
template <typename Event>
void ExpectRefused(Cluster& cluster, absl::StatusCode code, Event event) {
  const std::string before = cluster.Fingerprint();
  cluster.jobs.TakeDirty();
  const absl::Status status = event();
  INFO(status.ToString());
  CHECK(status.code() == code);
  CHECK(cluster.Fingerprint() == before);
  CHECK_FALSE(cluster.jobs.TakeDirty());
}

TEST_CASE("Submit: a valid spec is QUEUED under the next id") {
  Cluster cluster;
  const std::string id = cluster.Submit(Spec(1, 1));
  CHECK(id == "job-1");
  CHECK(cluster.State(id) == QUEUED);
  CHECK(cluster.Get(id).submitted_unix() == 1700000000);
  CHECK(cluster.jobs.ActiveJobs() == 1);
  CHECK(cluster.jobs.TakeDirty());
  CHECK(cluster.Submit(Spec(1, 1)) == "job-2");
}

TEST_CASE("Submit refuses an invalid spec or a checkpoint that is not there; no id is used") {
  Cluster cluster;
  cluster.Submit(Spec(1, 1));
  JobSpec invalid = Spec(1, 1);
  invalid.mutable_training()->set_batch_size(0);
  ExpectRefused(cluster, absl::StatusCode::kInvalidArgument,
                [&] { return cluster.jobs.Submit(invalid, kNow).status(); });
  JobSpec resume = Spec(1, 1);
  resume.mutable_checkpoint()->set_resume_from(ScratchDir("missing") + "/job-9");
  ExpectRefused(cluster, absl::StatusCode::kNotFound,
                [&] { return cluster.jobs.Submit(resume, kNow).status(); });
  CHECK(cluster.Submit(Spec(1, 1)) == "job-2");
}

TEST_CASE("Submit resuming from a complete cut restores it when the job starts") {
  Cluster cluster;
  const std::string dir = ScratchDir("resume");
  WriteCut(dir, "job-old", 2, 300);
  JobSpec spec = Spec(2, 1);
  spec.mutable_checkpoint()->set_resume_from(dir + "/job-old");
  const std::string id = cluster.Running(spec);
  const JobRecord& record = **cluster.jobs.Record(id);
  CHECK(record.restore_clock() == 300);
  CHECK(record.restore_from() == server::CutDirectory(dir, "job-old", 300));
  CHECK(record.workers(0).join_clock() == 300);
}

TEST_CASE("QUEUED -> RUNNING once enough servers and workers are alive") {
  Cluster cluster;
  cluster.Add(SERVER);
  const std::string w0 = cluster.Add(WORKER);
  const std::string w1 = cluster.Add(WORKER);
  const std::string id = cluster.Submit(Spec(2, 2));
  cluster.Schedule();
  CHECK(cluster.State(id) == QUEUED);
  CHECK(absl::StartsWith(cluster.Get(id).error(), "waiting for 2 servers"));
  ExpectRefused(cluster, absl::StatusCode::kUnavailable,
                [&] { return cluster.jobs.GetShardMap(id).status(); });
  const std::string s1 = cluster.Add(SERVER);
  cluster.Schedule();
  const JobStatus job = cluster.Get(id);
  CHECK(job.state() == RUNNING);
  CHECK(job.error().empty());
  CHECK(job.started_unix() == 1700000000);
  CHECK(job.shard_map_epoch() == 1);
  REQUIRE(cluster.jobs.AssignmentsFor(w1).size() == 1);
  CHECK(cluster.jobs.AssignmentsFor(w1)[0].rank() == 1);
  CHECK(cluster.jobs.AssignmentsFor(s1).size() == 1);
  CHECK(cluster.jobs.GetShardMap(id).ok());
  (void)w0;
}

TEST_CASE("QUEUED -> CANCELLED and RUNNING -> CANCELLED; an ended job cannot be cancelled") {
  Cluster cluster;
  const std::string running = cluster.Running(Spec(1, 1));
  const std::string queued = cluster.Submit(Spec(1, 1));  // its worker is busy
  cluster.Schedule();
  REQUIRE(cluster.State(queued) == QUEUED);
  const std::string worker = cluster.Report(running, 0).worker_id();

  REQUIRE(cluster.jobs.Cancel(queued, kNow).ok());
  CHECK(cluster.State(queued) == CANCELLED);
  absl::StatusOr<JobStatus> cancelled = cluster.jobs.Cancel(running, kNow);
  REQUIRE(cancelled.ok());
  CHECK(cancelled->state() == CANCELLED);
  CHECK(cancelled->error() == "cancelled by request");
  CHECK(cancelled->finished_unix() == 1700000000);
  CHECK(cluster.jobs.ActiveJobs() == 0);
  CHECK(cluster.jobs.AssignmentsFor(worker).empty());  // its trainer stops

  ExpectRefused(cluster, absl::StatusCode::kFailedPrecondition,
                [&] { return cluster.jobs.Cancel(running, kNow).status(); });
  ExpectRefused(cluster, absl::StatusCode::kNotFound,
                [&] { return cluster.jobs.Cancel("job-77", kNow).status(); });
}

TEST_CASE("RUNNING -> SUCCEEDED on rank 0's final report; later reports change nothing") {
  Cluster cluster;
  const std::string id = cluster.Running(Spec(1, 2));
  ReportProgressRequest done = cluster.Report(id, 1);
  done.set_finished_training(true);
  REQUIRE(cluster.jobs.ReportProgress(done, kNow).ok());
  CHECK(cluster.State(id) == RUNNING);
  ReportProgressRequest final_report = cluster.Report(id, 0);
  final_report.set_finished_training(true);
  final_report.set_has_test_accuracy(true);
  final_report.set_test_accuracy(0.8f);
  final_report.set_final(true);
  absl::StatusOr<ReportProgressResponse> answer = cluster.jobs.ReportProgress(final_report, kNow);
  REQUIRE(answer.ok());
  CHECK(answer->state() == SUCCEEDED);
  CHECK(answer->workers_finished() == 2);
  CHECK(cluster.Get(id).test_accuracy() == 0.8f);

  // A straggling report, even an error, is answered with the end state.
  ReportProgressRequest late = cluster.Report(id, 1);
  late.set_error("too late");
  const std::string before = cluster.Fingerprint();
  answer = cluster.jobs.ReportProgress(late, kNow);
  REQUIRE(answer.ok());
  CHECK(answer->state() == SUCCEEDED);
  CHECK(cluster.Fingerprint() == before);
  // Finished jobs' parameters stay readable on their servers.
  CHECK(cluster.jobs.AssignmentsFor("server-0").size() == 1);
}

TEST_CASE("RUNNING -> FAILED when a worker reports an error") {
  Cluster cluster;
  const std::string id = cluster.Running(Spec(1, 2));
  ReportProgressRequest report = cluster.Report(id, 1);
  report.set_error("out of memory");
  REQUIRE(cluster.jobs.ReportProgress(report, kNow).ok());
  const JobStatus job = cluster.Get(id);
  CHECK(job.state() == FAILED);
  CHECK(job.error() == "worker-1: out of memory");
  CHECK(cluster.jobs.AssignmentsFor("server-0").empty());
}

TEST_CASE("RUNNING -> FAILED when a server's gate report carries an error") {
  Cluster cluster;
  const std::string id = cluster.Running(Spec(1, 1));
  GateReport report;
  report.set_job_id(id);
  report.set_error("cannot restore group 0");
  cluster.jobs.RecordGateReport("server-0", report, kNow);
  CHECK(cluster.State(id) == FAILED);
  CHECK(cluster.Get(id).error() == "server-0: cannot restore group 0");
}

TEST_CASE("ReportProgress refuses reports that do not speak for the rank") {
  Cluster cluster;
  const std::string id = cluster.Running(Spec(1, 2));
  auto refused = [&](absl::StatusCode code, const ReportProgressRequest& report) {
    ExpectRefused(cluster, code, [&] { return cluster.jobs.ReportProgress(report, kNow).status(); });
  };
  ReportProgressRequest report = cluster.Report(id, 0);
  report.set_final(true);  // would end the job if it counted
  ReportProgressRequest other_worker = report;
  other_worker.set_worker_id(cluster.Report(id, 1).worker_id());
  refused(absl::StatusCode::kPermissionDenied, other_worker);
  ReportProgressRequest no_such_rank = report;
  no_such_rank.set_rank(2);
  refused(absl::StatusCode::kPermissionDenied, no_such_rank);
  ReportProgressRequest earlier_stint = report;
  earlier_stint.set_join_clock(40);
  refused(absl::StatusCode::kFailedPrecondition, earlier_stint);
  ReportProgressRequest other_attempt = report;
  other_attempt.set_attempt(1);
  refused(absl::StatusCode::kFailedPrecondition, other_attempt);
  ReportProgressRequest no_such_job = report;
  no_such_job.set_job_id("job-9");
  refused(absl::StatusCode::kNotFound, no_such_job);
  CHECK(cluster.State(id) == RUNNING);
}

TEST_CASE("a dead server with no replica left: RUNNING -> FAILED without checkpoints") {
  Cluster cluster;
  const std::string id = cluster.Running(Spec(2, 1));
  cluster.Kill("server-1");
  const JobStatus job = cluster.Get(id);
  CHECK(job.state() == FAILED);
  CHECK(absl::StrContains(job.error(), "server-1 on  (pid 0, 127.0.0.1:9001) stopped responding"));
  CHECK(absl::EndsWith(job.error(),
                       "shard group 1 has no replica left; the job cannot go on (no checkpoints)"));
}

TEST_CASE("a dead server with no replica left: FAILED when no complete cut is on disk") {
  Cluster cluster;
  JobSpec spec = Spec(2, 1);
  spec.mutable_checkpoint()->set_dir(ScratchDir("none"));
  spec.mutable_checkpoint()->set_every_clocks(100);
  const std::string id = cluster.Running(spec);
  cluster.Kill("server-0");
  CHECK(cluster.State(id) == FAILED);
  CHECK(absl::StrContains(cluster.Get(id).error(), "cannot restart from a checkpoint: "));
}

TEST_CASE("a dead server with no replica left: RUNNING -> QUEUED from the latest complete cut") {
  Cluster cluster;
  const std::string dir = ScratchDir("restart");
  JobSpec spec = Spec(2, 2);
  spec.mutable_checkpoint()->set_dir(dir);
  spec.mutable_checkpoint()->set_every_clocks(100);
  const std::string id = cluster.Running(spec);
  WriteCut(dir, id, 2, 100);
  WriteCut(dir, id, 1, 200);  // incomplete: group 1's file is missing
  const ReportProgressRequest old_rank0 = cluster.Report(id, 0);
  const int64_t old_epoch = cluster.Get(id).shard_map_epoch();

  cluster.Kill("server-0");
  JobStatus job = cluster.Get(id);
  CHECK(job.state() == QUEUED);
  CHECK(job.attempt() == 1);
  CHECK(absl::EndsWith(job.error(), "restarting from the checkpoint at clock 100 (attempt 1)"));
  CHECK(job.last_restart() == job.error());
  CHECK(cluster.jobs.AssignmentsFor(old_rank0.worker_id()).empty());
  CHECK(cluster.jobs.TakeDirty());

  // The next attempt starts when a server replaces the dead one; what the
  // trainers of attempt 0 still say does not count.
  cluster.Add(SERVER);
  cluster.Schedule();
  job = cluster.Get(id);
  CHECK(job.state() == RUNNING);
  CHECK(job.error() == job.last_restart());
  CHECK(job.shard_map_epoch() > old_epoch);
  CHECK((**cluster.jobs.Record(id)).workers(0).join_clock() == 100);
  ReportProgressRequest stale = old_rank0;
  stale.set_final(true);
  ExpectRefused(cluster, absl::StatusCode::kFailedPrecondition,
                [&] { return cluster.jobs.ReportProgress(stale, kNow).status(); });
}

TEST_CASE("under replication a dead primary leaves the job RUNNING on its backup") {
  Cluster cluster;
  const std::string id = cluster.Running(Spec(2, 1, /*replication=*/2));
  cluster.Kill("server-0");
  const JobStatus job = cluster.Get(id);
  CHECK(job.state() == RUNNING);
  CHECK(job.shard_map_epoch() == 2);
  REQUIRE(job.groups_size() == 2);
  CHECK(job.groups(0).servers(0) == "server-1");
  CHECK(job.groups(1).servers_size() == 1);
}

TEST_CASE("a dead worker's rank departs and goes to an idle worker at the current clock") {
  Cluster cluster;
  const std::string id = cluster.Running(Spec(1, 2));
  ReportProgressRequest ahead = cluster.Report(id, 0);
  ahead.set_clock(70);
  REQUIRE(cluster.jobs.ReportProgress(ahead, kNow).ok());
  const ReportProgressRequest gone = cluster.Report(id, 1);
  cluster.Kill(gone.worker_id());
  CHECK((**cluster.jobs.Record(id)).workers(1).departed());
  CHECK(cluster.State(id) == RUNNING);
  CHECK(cluster.jobs.AssignmentsFor(gone.worker_id()).empty());
  ExpectRefused(cluster, absl::StatusCode::kFailedPrecondition,
                [&] { return cluster.jobs.ReportProgress(gone, kNow).status(); });

  const std::string spare = cluster.Add(WORKER);
  cluster.Schedule();
  const WorkerSlot& slot = (**cluster.jobs.Record(id)).workers(1);
  CHECK(slot.worker_id() == spare);
  CHECK_FALSE(slot.departed());
  CHECK(slot.join_clock() == 70);
  REQUIRE(cluster.jobs.AssignmentsFor(spare).size() == 1);
  CHECK(cluster.jobs.AssignmentsFor(spare)[0].rank() == 1);
}

TEST_CASE("Save and Load: a running job goes on where it was, and ids go on") {
  Cluster cluster;
  const std::string id = cluster.Running(Spec(2, 1, 2));
  cluster.Submit(Spec(5, 1));  // waits for servers
  CoordinatorState state;
  cluster.jobs.Save(&state);
  JobManager restored;
  restored.Load(state);
  CHECK(restored.ActiveJobs() == 2);
  REQUIRE(restored.Record(id).ok());
  CHECK((*restored.Record(id))->SerializeAsString() ==
        (**cluster.jobs.Record(id)).SerializeAsString());
  CHECK(restored.AssignmentsFor("server-1").size() == 1);
  absl::StatusOr<std::string> next = restored.Submit(Spec(1, 1), kNow);
  REQUIRE(next.ok());
  CHECK(*next == "job-3");
}

}  // namespace
}  // namespace petrel::coordinator

#include "coordinator/job_manager.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/job_file.h"
#include "common/model_tables.h"
#include "common/partition.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace petrel::coordinator {
namespace {

double UnixSeconds(absl::Time t) { return absl::ToDoubleSeconds(t - absl::UnixEpoch()); }

}  // namespace

bool JobManager::IsTerminal(JobState state) {
  return state == SUCCEEDED || state == FAILED || state == CANCELLED;
}

absl::StatusOr<std::string> JobManager::Submit(const JobSpec& spec, absl::Time now) {
  PETREL_RETURN_IF_ERROR(ValidateJobSpec(spec));
  const std::string id = absl::StrCat("job-", next_job_++);
  Job job;
  job.status.set_job_id(id);
  job.status.set_name(spec.name());
  job.status.set_state(QUEUED);
  *job.status.mutable_spec() = spec;
  job.status.set_submitted_unix(UnixSeconds(now));
  jobs_[id] = std::move(job);
  order_.push_back(id);
  spdlog::info("job {} ({}) queued: {} servers, {} workers", id, spec.name(),
               spec.cluster().servers(), spec.cluster().workers());
  return id;
}

bool JobManager::WorkerBusy(const std::string& worker_id) const {
  for (const auto& [id, job] : jobs_) {
    if (job.status.state() != RUNNING) continue;
    for (const std::string& w : job.worker_ids) {
      if (w == worker_id) return true;
    }
  }
  return false;
}

void JobManager::Schedule(const std::vector<const Node*>& servers,
                          const std::vector<const Node*>& workers, absl::Time now) {
  for (const std::string& id : order_) {
    Job& job = jobs_[id];
    if (job.status.state() != QUEUED) continue;
    const ClusterSpec& shape = job.status.spec().cluster();
    std::vector<const Node*> idle;
    for (const Node* worker : workers) {
      if (!WorkerBusy(worker->id)) idle.push_back(worker);
    }
    if (static_cast<int>(servers.size()) < shape.servers() ||
        static_cast<int>(idle.size()) < shape.workers()) {
      return;  // first come, first served: later jobs wait behind this one
    }
    std::vector<ServerEndpoint> endpoints;
    for (int i = 0; i < shape.servers(); ++i) {
      endpoints.push_back({servers[i]->id, servers[i]->info.grpc_address()});
      job.server_ids.push_back(servers[i]->id);
    }
    const std::vector<DenseTable> tables = ModelTables(job.status.spec().model());
    auto ranges = PartitionDenseTables(tables, endpoints);
    if (!ranges.ok()) {
      Finish(job, FAILED, ranges.status().ToString(), now);
      continue;
    }
    job.shard_map.set_job_id(id);
    job.shard_map.set_epoch(1);
    for (const DenseTable& table : tables) *job.shard_map.add_tables() = table;
    for (ShardRange& range : *ranges) *job.shard_map.add_ranges() = std::move(range);
    const std::vector<SparseTable> sparse = ModelSparseTables(job.status.spec().model());
    for (const SparseTable& table : sparse) *job.shard_map.add_sparse_tables() = table;
    for (SparseShard& shard : PartitionSparseTables(sparse, endpoints)) {
      *job.shard_map.add_sparse_shards() = std::move(shard);
    }
    for (int rank = 0; rank < shape.workers(); ++rank) job.worker_ids.push_back(idle[rank]->id);
    job.status.set_state(RUNNING);
    job.status.set_started_unix(UnixSeconds(now));
    spdlog::info("job {} running on servers [{}] and workers [{}]", id,
                 absl::StrJoin(job.server_ids, ", "), absl::StrJoin(job.worker_ids, ", "));
  }
}

void JobManager::FailJobsOfDeadNodes(const std::set<std::string>& alive_ids,
                                     const Membership& membership, absl::Time now) {
  for (auto& [id, job] : jobs_) {
    if (job.status.state() != RUNNING) continue;
    std::vector<std::string> members = job.server_ids;
    members.insert(members.end(), job.worker_ids.begin(), job.worker_ids.end());
    for (const std::string& member : members) {
      if (alive_ids.count(member)) continue;
      const Node* node = membership.Find(member);
      std::string where = node ? absl::StrCat(" on ", node->info.host(), " (pid ",
                                              node->info.pid(), ", ", node->info.grpc_address(),
                                              ")")
                               : "";
      Finish(job, FAILED,
             absl::StrCat(member, where, " stopped sending heartbeats; the job cannot go on"),
             now);
      break;
    }
  }
}

std::vector<JobAssignment> JobManager::AssignmentsFor(const std::string& node_id) const {
  std::vector<JobAssignment> assignments;
  for (const std::string& id : order_) {
    const Job& job = jobs_.at(id);
    const JobState state = job.status.state();
    if (state == QUEUED || state == CANCELLED || state == FAILED) continue;
    JobAssignment assignment;
    assignment.set_job_id(id);
    *assignment.mutable_spec() = job.status.spec();
    *assignment.mutable_shard_map() = job.shard_map;
    assignment.set_state(state);
    assignment.set_num_workers(job.worker_ids.size());
    for (const std::string& worker : job.worker_ids) assignment.add_worker_ids(worker);
    bool member = false;
    for (const std::string& server : job.server_ids) member |= server == node_id;
    for (size_t rank = 0; rank < job.worker_ids.size(); ++rank) {
      if (job.worker_ids[rank] == node_id && state == RUNNING) {
        member = true;
        assignment.set_rank(rank);
      }
    }
    if (member) assignments.push_back(std::move(assignment));
  }
  return assignments;
}

absl::StatusOr<const JobManager::Job*> JobManager::FindJob(const std::string& job_id) const {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return absl::NotFoundError(absl::StrCat("no job \"", job_id, "\" (petrel jobs lists them)"));
  }
  return &it->second;
}

absl::StatusOr<JobManager::Job*> JobManager::FindJob(const std::string& job_id) {
  PETREL_ASSIGN_OR_RETURN(const Job* job, std::as_const(*this).FindJob(job_id));
  return const_cast<Job*>(job);
}

absl::StatusOr<JobStatus> JobManager::Get(const std::string& job_id, absl::Time now) const {
  PETREL_ASSIGN_OR_RETURN(const Job* job, FindJob(job_id));
  return Snapshot(*job, now);
}

std::vector<JobStatus> JobManager::List(absl::Time now) const {
  std::vector<JobStatus> list;
  for (const std::string& id : order_) list.push_back(Snapshot(jobs_.at(id), now));
  return list;
}

absl::StatusOr<JobStatus> JobManager::Cancel(const std::string& job_id, absl::Time now) {
  PETREL_ASSIGN_OR_RETURN(Job * job, FindJob(job_id));
  if (IsTerminal(job->status.state())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " already ended (", JobState_Name(job->status.state()), ")"));
  }
  Finish(*job, CANCELLED, "cancelled by request", now);
  return Snapshot(*job, now);
}

absl::StatusOr<ShardMap> JobManager::GetShardMap(const std::string& job_id) const {
  PETREL_ASSIGN_OR_RETURN(const Job* job, FindJob(job_id));
  if (job->status.state() == QUEUED) {
    return absl::UnavailableError(absl::StrCat("job ", job_id, " is queued; it has no placement yet"));
  }
  return job->shard_map;
}

absl::StatusOr<ReportProgressResponse> JobManager::ReportProgress(
    const ReportProgressRequest& report, absl::Time now) {
  PETREL_ASSIGN_OR_RETURN(Job * job, FindJob(report.job_id()));
  const int rank = report.rank();
  if (rank < 0 || rank >= static_cast<int>(job->worker_ids.size()) ||
      job->worker_ids[rank] != report.worker_id()) {
    return absl::PermissionDeniedError(absl::StrCat(
        report.worker_id(), " is not rank ", rank, " of job ", report.job_id()));
  }
  ReportProgressResponse response;
  if (job->status.state() == RUNNING) {
    WorkerState& worker = job->workers[report.worker_id()];
    const bool was_finished = worker.last_report.finished_training();
    worker.last_report = report;
    worker.last_report_time = now;
    if (was_finished) worker.last_report.set_finished_training(true);
    if (report.has_test_accuracy()) {
      job->status.set_has_test_accuracy(true);
      job->status.set_test_accuracy(report.test_accuracy());
      AccuracyPoint* point = job->status.add_accuracy_history();
      point->set_seconds(UnixSeconds(now) - job->status.started_unix());
      point->set_step(report.step());
      point->set_test_accuracy(report.test_accuracy());
    }
    if (!report.error().empty()) {
      Finish(*job, FAILED, absl::StrCat(report.worker_id(), ": ", report.error()), now);
    } else if (report.final()) {
      Finish(*job, SUCCEEDED, "", now);
    }
  }
  JobStatus snapshot = Snapshot(*job, now);
  response.set_state(snapshot.state());
  response.set_workers_finished(snapshot.workers_finished());
  return response;
}

absl::Duration JobManager::StallTimeout(const Job& job) {
  const double seconds = job.status.spec().training().stall_timeout_seconds();
  return absl::Seconds(seconds > 0 ? seconds : 30);
}

std::vector<std::string> JobManager::NewBarrierStalls(absl::Time now) {
  std::vector<std::string> stalls;
  for (auto& [id, job] : jobs_) {
    if (job.status.state() != RUNNING) continue;
    const JobStatus status = Snapshot(job, now);
    if (status.workers_finished() == 0) continue;
    for (const LateWorker& late : status.late_workers()) {
      const std::string key = absl::StrCat("barrier:", late.worker_id(), "@", late.clock());
      if (!job.stalls_seen.insert(key).second) continue;
      stalls.push_back(absl::StrCat("job ", id, " stalled at the end of training: ",
                                    status.workers_finished(), " of ",
                                    job.worker_ids.size(), " workers finished, waiting for ",
                                    late.worker_id(), " (last reported clock ", late.clock(),
                                    ")"));
    }
  }
  return stalls;
}

std::vector<StalledPull> JobManager::RecordGateReport(const std::string& server_id,
                                                      const GateReport& report) {
  auto job = FindJob(report.job_id());
  if (!job.ok()) return {};
  (*job)->gates[server_id] = report;
  std::vector<StalledPull> fresh;
  for (const StalledPull& stall : report.stalls()) {
    const std::string key = absl::StrCat(stall.worker_id(), "@", stall.clock());
    if ((*job)->stalls_seen.insert(key).second) fresh.push_back(stall);
  }
  return fresh;
}

void JobManager::Finish(Job& job, JobState state, const std::string& error, absl::Time now) {
  job.status.set_state(state);
  job.status.set_error(error);
  job.status.set_finished_unix(UnixSeconds(now));
  if (state == SUCCEEDED) {
    spdlog::info("job {} succeeded", job.status.job_id());
  } else {
    spdlog::warn("job {} {}: {}", job.status.job_id(), JobState_Name(state), error);
  }
}

JobStatus JobManager::Snapshot(const Job& job, absl::Time now) const {
  JobStatus status = job.status;
  int min_epoch = -1;
  int finished = 0;
  double loss_sum = 0, throughput = 0;
  for (size_t rank = 0; rank < job.worker_ids.size(); ++rank) {
    auto it = job.workers.find(job.worker_ids[rank]);
    WorkerProgress* out = status.add_workers();
    out->set_worker_id(job.worker_ids[rank]);
    out->set_rank(rank);
    if (it == job.workers.end()) {
      min_epoch = 0;
      continue;
    }
    const ReportProgressRequest& last = it->second.last_report;
    out->set_epoch(last.epoch());
    out->set_step(last.step());
    out->set_clock(last.clock());
    out->set_train_loss(last.train_loss());
    out->set_samples_per_second(last.samples_per_second());
    out->set_finished_training(last.finished_training());
    out->set_seconds_since_report(absl::ToDoubleSeconds(now - it->second.last_report_time));
    out->set_pull_seconds(last.pull_seconds());
    out->set_train_seconds(last.train_seconds());
    min_epoch = min_epoch < 0 ? last.epoch() : std::min(min_epoch, last.epoch());
    finished += last.finished_training() ? 1 : 0;
    loss_sum += last.train_loss();
    if (!last.finished_training()) throughput += last.samples_per_second();
    status.set_steps_per_epoch(last.steps_per_epoch());
  }
  status.set_epoch(std::max(min_epoch, 0));
  status.set_workers_finished(finished);
  if (!job.workers.empty()) status.set_train_loss(loss_sum / job.workers.size());
  status.set_samples_per_second(throughput);

  // The staleness gate over all servers: the slowest clock, the largest
  // staleness any pull saw, and who a stalled pull waits for.
  int64_t min_clock = -1;
  std::map<std::string, int64_t> late;
  for (const auto& [server, gate] : job.gates) {
    if (gate.min_clock() >= 0) {
      min_clock = min_clock < 0 ? gate.min_clock() : std::min(min_clock, gate.min_clock());
    }
    status.set_max_observed_staleness(
        std::max(status.max_observed_staleness(), gate.max_observed_staleness()));
    status.set_pulls_waited(status.pulls_waited() + gate.pulls_waited());
    for (const StalledPull& stall : gate.stalls()) {
      status.set_stalled_seconds(std::max(status.stalled_seconds(), stall.seconds()));
      for (const WorkerClock& worker : stall.late()) {
        auto [it, added] = late.emplace(worker.worker_id(), worker.clock());
        if (!added) it->second = std::min(it->second, worker.clock());
      }
    }
  }
  status.set_min_clock(min_clock);
  // The end-of-training barrier: rank 0 waits until every worker reports it
  // finished. A worker silent past the stall timeout while others wait there
  // is late too.
  const absl::Duration stall_timeout = StallTimeout(job);
  if (finished > 0 && job.status.state() == RUNNING) {
    for (const WorkerProgress& worker : status.workers()) {
      if (worker.finished_training()) continue;
      const auto it = job.workers.find(worker.worker_id());
      // A worker that never reported has been silent since the job started.
      const absl::Time last_heard =
          it != job.workers.end() ? it->second.last_report_time
                                  : absl::UnixEpoch() + absl::Seconds(job.status.started_unix());
      const absl::Duration silent = now - last_heard;
      if (silent < stall_timeout) continue;
      status.set_stalled_seconds(std::max(status.stalled_seconds(), absl::ToDoubleSeconds(silent)));
      late.emplace(worker.worker_id(), worker.clock());
    }
  }
  for (const auto& [worker, clock] : late) {
    LateWorker* out = status.add_late_workers();
    out->set_worker_id(worker);
    out->set_clock(clock);
  }
  return status;
}

}  // namespace petrel::coordinator

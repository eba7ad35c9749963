#include "coordinator/job_manager.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/jobspec/job_file.h"
#include "common/jobspec/model_tables.h"
#include "common/jobspec/partition.h"
#include "common/status_macros.h"
#include "coordinator/device_placement.h"
#include "coordinator/placement.h"
#include "checkpoint/checkpoint_cut.h"
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
  Job job;
  if (!spec.checkpoint().resume_from().empty()) {
    // Refused here, whole, rather than half-loaded by the servers later.
    const int groups = spec.cluster().servers();
    PETREL_ASSIGN_OR_RETURN(server::Cut cut,
                            server::LatestCompleteCut(spec.checkpoint().resume_from(), groups));
    PETREL_RETURN_IF_ERROR(server::ValidateCut(cut, groups, spec));
    job.record.set_restore_from(cut.directory);
    job.record.set_restore_clock(cut.clock);
  }
  const std::string id = absl::StrCat("job-", next_job_++);
  job.status().set_job_id(id);
  job.status().set_name(spec.name());
  job.status().set_state(QUEUED);
  *job.status().mutable_spec() = spec;
  job.status().set_submitted_unix(UnixSeconds(now));
  spdlog::info("job {} ({}) queued: {} servers (replication {}), {} workers{}", id, spec.name(),
               spec.cluster().servers(), spec.cluster().replication(), spec.cluster().workers(),
               job.record.restore_from().empty()
                   ? ""
                   : absl::StrCat(", resuming from ", job.record.restore_from()));
  jobs_[id] = std::move(job);
  order_.push_back(id);
  dirty_ = true;
  return id;
}

int JobManager::ActiveJobs() const {
  int active = 0;
  for (const auto& [id, job] : jobs_) active += IsTerminal(job.status().state()) ? 0 : 1;
  return active;
}

bool JobManager::WorkerBusy(const std::string& worker_id) const {
  for (const auto& [id, job] : jobs_) {
    if (job.status().state() != RUNNING) continue;
    for (const WorkerSlot& slot : job.record.workers()) {
      if (slot.worker_id() == worker_id && !slot.departed()) return true;
    }
  }
  return false;
}

bool JobManager::Finished(const Job& job, const std::string& worker_id) const {
  auto it = job.workers.find(worker_id);
  return it != job.workers.end() && it->second.last_report.finished_training();
}

int64_t JobManager::CurrentClock(const Job& job) {
  int64_t clock = job.record.restore_clock();
  for (const WorkerSlot& slot : job.record.workers()) {
    auto it = job.workers.find(slot.worker_id());
    if (slot.departed() || it == job.workers.end()) continue;
    clock = std::max(clock, it->second.last_report.clock());
  }
  return clock;
}

void JobManager::Schedule(const std::vector<const Node*>& servers,
                          const std::vector<const Node*>& workers, absl::Time now) {
  auto idle_workers = [&] {
    std::vector<const Node*> idle;
    for (const Node* worker : workers) {
      if (!WorkerBusy(worker->id)) idle.push_back(worker);
    }
    return idle;
  };
  // Replicas lost by running jobs are rebuilt on servers with room.
  std::vector<ServerEndpoint> alive;
  for (const Node* server : servers) alive.push_back({server->id, server->info.grpc_address()});
  for (const std::string& id : order_) {
    Job& job = jobs_[id];
    if (job.status().state() != RUNNING) continue;
    std::vector<std::string> added;
    if (RepairChains(alive, job.status().spec().cluster().replication(),
                     job.record.mutable_shard_map(), &added) > 0) {
      dirty_ = true;
      spdlog::info("job {}: rebuilding replicas: {}; shard map epoch {}", id,
                   absl::StrJoin(added, "; "), job.record.shard_map().epoch());
    }
  }
  // Departed ranks of running jobs first: those jobs are waiting.
  for (const std::string& id : order_) {
    Job& job = jobs_[id];
    if (job.status().state() != RUNNING) continue;
    const std::string& device = job.status().spec().cluster().device();
    for (int rank = 0; rank < job.record.workers_size(); ++rank) {
      WorkerSlot* slot = job.record.mutable_workers(rank);
      if (!slot->departed() || Finished(job, slot->worker_id())) continue;
      // Only a worker that offers the job's device takes the rank.
      const std::vector<const Node*> idle = WorkersFor(device, idle_workers());
      if (idle.empty()) break;
      const int64_t clock = CurrentClock(job);
      spdlog::info("job {}: {} takes rank {} (from {}) and joins at clock {}", id, idle[0]->id,
                   rank, slot->worker_id(), clock);
      job.workers.erase(slot->worker_id());
      slot->set_worker_id(idle[0]->id);
      slot->set_join_clock(clock);
      slot->set_departed(false);
      dirty_ = true;
    }
  }
  // The queued job that could not start, which every later one waits behind.
  std::string blocked_by;
  for (const std::string& id : order_) {
    Job& job = jobs_[id];
    if (job.status().state() != QUEUED) continue;
    if (!blocked_by.empty()) {
      job.status().set_error(absl::StrCat("queued behind ", blocked_by,
                                          " (jobs start in the order they were submitted)"));
      continue;
    }
    const ClusterSpec& shape = job.status().spec().cluster();
    const std::vector<const Node*> all_idle = idle_workers();
    // Only workers that offer the job's cluster.device (device_placement.h).
    const std::vector<const Node*> idle = WorkersFor(shape.device(), all_idle);
    if (static_cast<int>(servers.size()) < shape.servers() ||
        static_cast<int>(idle.size()) < shape.workers()) {
      // First come, first served: later jobs wait behind this one. Why it
      // waits shows as its error while it is QUEUED.
      const std::string why = WhyWaiting(shape, servers.size(), workers, all_idle);
      if (job.status().error() != why) {
        spdlog::info("job {} queued: {}", id, why);
        job.status().set_error(why);
      }
      blocked_by = id;
      continue;
    }
    std::vector<ServerEndpoint> endpoints;
    for (int i = 0; i < shape.servers(); ++i) {
      endpoints.push_back({servers[i]->id, servers[i]->info.grpc_address()});
    }
    auto map = PlaceJob(id, job.status().spec(), endpoints);
    if (!map.ok()) {
      Finish(job, FAILED, map.status().ToString(), now);
      continue;
    }
    // A restarted job's new map is newer than anything its old one made.
    map->set_epoch(job.record.shard_map().epoch() + 1);
    map->set_attempt(job.record.attempt());
    *job.record.mutable_shard_map() = std::move(*map);
    job.record.clear_workers();
    job.workers.clear();
    job.gates.clear();
    std::vector<std::string> worker_ids;
    for (int rank = 0; rank < shape.workers(); ++rank) {
      WorkerSlot* slot = job.record.add_workers();
      slot->set_worker_id(idle[rank]->id);
      slot->set_join_clock(job.record.restore_clock());
      worker_ids.push_back(idle[rank]->id);
    }
    job.status().set_state(RUNNING);
    // No longer waiting: the error says what it did before (the restart
    // that queued it again, if any).
    job.status().set_error(job.status().last_restart());
    if (job.status().started_unix() == 0) job.status().set_started_unix(UnixSeconds(now));
    dirty_ = true;
    std::vector<std::string> server_ids;
    for (const ServerEndpoint& e : endpoints) server_ids.push_back(e.id);
    spdlog::info("job {} running on servers [{}] (replication {}) and workers [{}]{}", id,
                 absl::StrJoin(server_ids, ", "), job.record.shard_map().groups(0).servers_size(),
                 absl::StrJoin(worker_ids, ", "),
                 job.record.restore_from().empty()
                     ? ""
                     : absl::StrCat(", from the checkpoint at clock ", job.record.restore_clock()));
  }
}

void JobManager::HandleDeadNodes(const std::set<std::string>& dead, const Membership& membership,
                                 absl::Time now) {
  auto describe = [&](const std::string& id) {
    const Node* node = membership.Find(id);
    return node ? absl::StrCat(id, " on ", node->info.host(), " (pid ", node->info.pid(), ", ",
                               node->info.grpc_address(), ")")
                : id;
  };
  for (const std::string& id : order_) {
    Job& job = jobs_[id];
    if (job.status().state() != RUNNING) continue;
    std::set<std::string> dead_servers;
    for (const std::string& server : ServersOf(job.record.shard_map())) {
      if (dead.count(server)) dead_servers.insert(server);
    }
    if (!dead_servers.empty()) {
      std::vector<std::string> who;
      for (const std::string& server : dead_servers) who.push_back(describe(server));
      const std::string what = absl::StrCat(absl::StrJoin(who, ", "), " stopped responding");
      ChainChange change = RemoveServers(dead_servers, job.record.mutable_shard_map());
      dirty_ = true;
      if (!change.lost_groups.empty()) {
        RestartOrFail(job,
                      absl::StrCat(what, "; shard group ", change.lost_groups[0],
                                   " has no replica left"),
                      now);
        continue;
      }
      spdlog::warn("job {}: {}; shard map epoch {}: {}", id, what,
                   job.record.shard_map().epoch(), absl::StrJoin(change.promotions, "; "));
    }
    for (WorkerSlot& slot : *job.record.mutable_workers()) {
      if (!dead.count(slot.worker_id()) || slot.departed() || Finished(job, slot.worker_id())) {
        continue;
      }
      slot.set_departed(true);
      dirty_ = true;
      spdlog::warn("job {}: {} stopped responding; it leaves the clock set, and its rank waits "
                   "for a replacement",
                   id, describe(slot.worker_id()));
    }
  }
}

void JobManager::RestartOrFail(Job& job, const std::string& why, absl::Time now) {
  const JobSpec& spec = job.status().spec();
  if (spec.checkpoint().every_clocks() <= 0) {
    Finish(job, FAILED, absl::StrCat(why, "; the job cannot go on (no checkpoints)"), now);
    return;
  }
  const int groups = spec.cluster().servers();
  absl::StatusOr<server::Cut> cut = server::LatestCompleteCut(
      absl::StrCat(spec.checkpoint().dir(), "/", job.status().job_id()), groups);
  absl::Status valid = cut.ok() ? server::ValidateCut(*cut, groups, spec) : cut.status();
  if (!valid.ok()) {
    Finish(job, FAILED, absl::StrCat(why, "; cannot restart from a checkpoint: ", valid.message()),
           now);
    return;
  }
  job.record.set_attempt(job.record.attempt() + 1);
  job.record.set_restore_from(cut->directory);
  job.record.set_restore_clock(cut->clock);
  job.record.clear_workers();
  job.workers.clear();
  job.gates.clear();
  job.status().set_state(QUEUED);
  job.status().set_error(absl::StrCat(why, "; restarting from the checkpoint at clock ",
                                      cut->clock, " (attempt ", job.record.attempt(), ")"));
  job.status().set_last_restart(job.status().error());
  dirty_ = true;
  spdlog::warn("job {}: {}", job.status().job_id(), job.status().error());
}

std::vector<JobAssignment> JobManager::AssignmentsFor(const std::string& node_id) const {
  std::vector<JobAssignment> assignments;
  for (const std::string& id : order_) {
    const Job& job = jobs_.at(id);
    const JobState state = job.status().state();
    if (state == QUEUED || state == CANCELLED || state == FAILED) continue;
    const std::set<std::string> servers = ServersOf(job.record.shard_map());
    bool member = servers.count(node_id) > 0;
    JobAssignment assignment;
    for (int rank = 0; rank < job.record.workers_size(); ++rank) {
      const WorkerSlot& slot = job.record.workers(rank);
      if (slot.worker_id() == node_id && !slot.departed() && state == RUNNING) {
        member = true;
        assignment.set_rank(rank);
      }
    }
    if (!member) continue;
    assignment.set_job_id(id);
    *assignment.mutable_spec() = job.status().spec();
    *assignment.mutable_shard_map() = job.record.shard_map();
    assignment.set_state(state);
    assignment.set_num_workers(job.record.workers_size());
    for (const WorkerSlot& slot : job.record.workers()) {
      assignment.add_worker_ids(slot.worker_id());
      *assignment.add_workers() = slot;
    }
    assignment.set_attempt(job.record.attempt());
    assignment.set_restore_from(job.record.restore_from());
    assignment.set_restore_clock(job.record.restore_clock());
    assignments.push_back(std::move(assignment));
  }
  return assignments;
}

std::vector<std::pair<std::string, std::string>> JobManager::ServersOfJob(
    const std::string& job_id) const {
  std::vector<std::pair<std::string, std::string>> servers;
  auto job = FindJob(job_id);
  if (!job.ok() || (*job)->status().state() != RUNNING) return servers;
  std::set<std::string> seen;
  for (const ShardGroup& group : (*job)->record.shard_map().groups()) {
    for (int k = 0; k < group.servers_size(); ++k) {
      if (seen.insert(group.servers(k)).second) {
        servers.push_back({group.servers(k), group.addresses(k)});
      }
    }
  }
  return servers;
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
  if (IsTerminal(job->status().state())) {
    return absl::FailedPreconditionError(absl::StrCat(
        "job ", job_id, " already ended (", JobState_Name(job->status().state()), ")"));
  }
  Finish(*job, CANCELLED, "cancelled by request", now);
  return Snapshot(*job, now);
}

absl::StatusOr<ShardMap> JobManager::GetShardMap(const std::string& job_id) const {
  PETREL_ASSIGN_OR_RETURN(const Job* job, FindJob(job_id));
  if (job->status().state() == QUEUED) {
    return absl::UnavailableError(absl::StrCat("job ", job_id, " is queued; it has no placement yet"));
  }
  return job->record.shard_map();
}

std::vector<std::string> JobManager::RunningFederatedJobs() const {
  std::vector<std::string> ids;
  for (const auto& [id, job] : jobs_) {
    if (job.status().state() == RUNNING && job.status().spec().mode() == "federated") {
      ids.push_back(id);
    }
  }
  return ids;
}

absl::StatusOr<const JobRecord*> JobManager::Record(const std::string& job_id) const {
  PETREL_ASSIGN_OR_RETURN(const Job* job, FindJob(job_id));
  return &job->record;
}

void JobManager::SetFederatedStatus(const std::string& job_id, const FederatedStatus& status,
                                    bool save) {
  auto job = FindJob(job_id);
  if (!job.ok()) return;
  *(*job)->status().mutable_federated() = status;
  if (save) dirty_ = true;
}

absl::StatusOr<ReportProgressResponse> JobManager::ReportProgress(
    const ReportProgressRequest& report, absl::Time now) {
  PETREL_ASSIGN_OR_RETURN(Job * job, FindJob(report.job_id()));
  const int rank = report.rank();
  if (rank < 0 || rank >= job->record.workers_size() ||
      job->record.workers(rank).worker_id() != report.worker_id()) {
    return absl::PermissionDeniedError(absl::StrCat(
        report.worker_id(), " is not rank ", rank, " of job ", report.job_id()));
  }
  if (report.join_clock() != job->record.workers(rank).join_clock() ||
      job->record.workers(rank).departed()) {
    // An earlier stint of this worker on the rank (it departed and came
    // back): only the current one speaks for the rank.
    return absl::FailedPreconditionError(absl::StrCat(
        report.worker_id(), "'s report is of an earlier stint on rank ", rank, " of job ",
        report.job_id()));
  }
  if (report.attempt() != job->record.attempt()) {
    // A trainer of an attempt that a restart replaced: nothing it says counts.
    return absl::FailedPreconditionError(absl::StrCat("job ", report.job_id(), " is at attempt ",
                                                      job->record.attempt(), "; this report is of attempt ",
                                                      report.attempt()));
  }
  ReportProgressResponse response;
  if (job->status().state() == RUNNING) {
    WorkerState& worker = job->workers[report.worker_id()];
    const bool was_finished = worker.last_report.finished_training();
    worker.last_report = report;
    worker.last_report_time = now;
    if (was_finished) worker.last_report.set_finished_training(true);
    if (report.has_test_accuracy()) {
      job->status().set_has_test_accuracy(true);
      job->status().set_test_accuracy(report.test_accuracy());
      // mode: ensemble: the members' own accuracies of the same evaluation.
      *job->status().mutable_member_accuracies() = report.member_accuracies();
      dirty_ = true;
      AccuracyPoint* point = job->status().add_accuracy_history();
      point->set_seconds(UnixSeconds(now) - job->status().started_unix());
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
  const double seconds = job.status().spec().training().stall_timeout_seconds();
  return absl::Seconds(seconds > 0 ? seconds : 30);
}

std::vector<std::string> JobManager::NewBarrierStalls(absl::Time now) {
  std::vector<std::string> stalls;
  for (auto& [id, job] : jobs_) {
    if (job.status().state() != RUNNING) continue;
    const JobStatus status = Snapshot(job, now);
    if (status.workers_finished() == 0) continue;
    for (const LateWorker& late : status.late_workers()) {
      const std::string key = absl::StrCat("barrier:", late.worker_id(), "@", late.clock());
      if (!job.stalls_seen.insert(key).second) continue;
      stalls.push_back(absl::StrCat("job ", id, " stalled at the end of training: ",
                                    status.workers_finished(), " of ",
                                    job.record.workers_size(), " workers finished, waiting for ",
                                    late.worker_id(), " (last reported clock ", late.clock(),
                                    ")"));
    }
  }
  return stalls;
}

std::vector<StalledPull> JobManager::RecordGateReport(const std::string& server_id,
                                                      const GateReport& report, absl::Time now) {
  auto job = FindJob(report.job_id());
  if (!job.ok()) return {};
  if (!report.error().empty()) {
    if ((*job)->status().state() == RUNNING) {
      Finish(**job, FAILED, absl::StrCat(server_id, ": ", report.error()), now);
    }
    return {};
  }
  (*job)->gates[absl::StrCat(server_id, "/", report.group())] = report;
  for (const std::string& installed : report.installed()) {
    if ((*job)->status().state() == RUNNING &&
        MarkInstalled(installed, report.group(), (*job)->record.mutable_shard_map())) {
      dirty_ = true;
      spdlog::info("job {}: {} holds group {} again (state from {}); shard map epoch {}",
                   report.job_id(), installed, report.group(), server_id,
                   (*job)->record.shard_map().epoch());
    }
  }
  std::vector<StalledPull> fresh;
  for (const StalledPull& stall : report.stalls()) {
    const std::string key = absl::StrCat(stall.worker_id(), "@", stall.clock());
    if ((*job)->stalls_seen.insert(key).second) fresh.push_back(stall);
  }
  return fresh;
}

void JobManager::Finish(Job& job, JobState state, const std::string& error, absl::Time now) {
  dirty_ = true;
  job.status().set_state(state);
  job.status().set_error(error);
  job.status().set_finished_unix(UnixSeconds(now));
  if (state == SUCCEEDED) {
    spdlog::info("job {} succeeded", job.status().job_id());
  } else {
    spdlog::warn("job {} {}: {}", job.status().job_id(), JobState_Name(state), error);
  }
}

JobStatus JobManager::Snapshot(const Job& job, absl::Time now) const {
  JobStatus status = job.status();
  status.set_attempt(job.record.attempt());
  status.set_shard_map_epoch(job.record.shard_map().epoch());
  for (const ShardGroup& group : job.record.shard_map().groups()) *status.add_groups() = group;
  int min_epoch = -1;
  int finished = 0;
  double loss_sum = 0, throughput = 0;
  for (int rank = 0; rank < job.record.workers_size(); ++rank) {
    const std::string& worker_id = job.record.workers(rank).worker_id();
    auto it = job.workers.find(worker_id);
    WorkerProgress* out = status.add_workers();
    out->set_worker_id(worker_id);
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
  if (finished > 0 && job.status().state() == RUNNING) {
    for (const WorkerProgress& worker : status.workers()) {
      if (worker.finished_training()) continue;
      const auto it = job.workers.find(worker.worker_id());
      // A worker that never reported has been silent since the job started.
      const absl::Time last_heard =
          it != job.workers.end() ? it->second.last_report_time
                                  : absl::UnixEpoch() + absl::Seconds(job.status().started_unix());
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

void JobManager::Save(CoordinatorState* state) const {
  state->set_next_job(next_job_);
  for (const std::string& id : order_) *state->add_jobs() = jobs_.at(id).record;
}

void JobManager::Load(const CoordinatorState& state) {
  next_job_ = std::max(1, state.next_job());
  jobs_.clear();
  order_.clear();
  for (const JobRecord& record : state.jobs()) {
    const std::string id = record.status().job_id();
    jobs_[id].record = record;
    order_.push_back(id);
  }
}

bool JobManager::TakeDirty() {
  const bool dirty = dirty_;
  dirty_ = false;
  return dirty;
}

}  // namespace petrel::coordinator

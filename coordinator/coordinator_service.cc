#include "coordinator/coordinator_service.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/rpc/channel_factory.h"
#include "common/rpc/rpc.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace petrel::coordinator {

namespace {

CoordinatorService::Options WithDefaultChannels(CoordinatorService::Options options) {
  if (options.channels == nullptr) options.channels = std::make_shared<SecuredChannelFactory>();
  return options;
}

}  // namespace

CoordinatorService::CoordinatorService(Options options)
    : options_(WithDefaultChannels(std::move(options))),
      store_(options_.state_dir),
      liveness_probe_(options_.liveness_probe != nullptr
                          ? options_.liveness_probe
                          : std::shared_ptr<LivenessProbe>(
                                NewNetworkLivenessProbe(*options_.channels))),
      round_closer_(options_.round_closer != nullptr
                        ? options_.round_closer
                        : std::shared_ptr<RoundCloser>(NewGrpcRoundCloser(*options_.channels))) {}

std::string CoordinatorService::StatusUrlOf(const std::string& http_address,
                                            const std::string& path) const {
  return StatusUrl(options_.channels->security(), http_address, path);
}

absl::Status CoordinatorService::Register(NodeRole role, const RegisterRequest& request,
                                          RegisterResponse* response) {
  if (request.grpc_address().empty()) {
    return absl::InvalidArgumentError("registration needs the node's grpc_address");
  }
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  const std::string id = membership_.Register(role, request, now);
  nodes_changed_ = true;
  spdlog::info("{} registered from {} (grpc {}, status {}){}", id, request.host(),
               request.grpc_address(), StatusUrlOf(request.http_address(), "/status"),
               role == WORKER ? absl::StrCat(", offering [", absl::StrJoin(request.devices(), ", "),
                                             "] (default ", request.device(), ")")
                              : "");
  response->set_node_id(id);
  response->set_heartbeat_interval_seconds(absl::ToDoubleSeconds(options_.heartbeat_interval));
  TickLocked(now);
  return absl::OkStatus();
}

absl::Status CoordinatorService::RegisterServer(const RegisterRequest& request,
                                                RegisterResponse* response) {
  return Register(SERVER, request, response);
}

absl::Status CoordinatorService::RegisterWorker(const RegisterRequest& request,
                                                RegisterResponse* response) {
  return Register(WORKER, request, response);
}

absl::Status CoordinatorService::Heartbeat(const HeartbeatRequest& request,
                                           HeartbeatResponse* response) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  if (!membership_.Heartbeat(request.node_id(), now)) {
    response->set_reregister(true);
    return absl::OkStatus();
  }
  for (const GateReport& gate : request.gates()) {
    for (const StalledPull& stall : jobs_.RecordGateReport(request.node_id(), gate, now)) {
      std::vector<std::string> late;
      for (const WorkerClock& worker : stall.late()) {
        const Node* node = membership_.Find(worker.worker_id());
        late.push_back(absl::StrCat(
            worker.worker_id(), " on ", node ? node->info.host() : "?", " (pid ",
            node ? node->info.pid() : 0, ", clock ", worker.clock(), ", last heartbeat ",
            node ? absl::StrFormat("%.1f", absl::ToDoubleSeconds(now - node->last_heartbeat)) : "?",
            " s ago)"));
      }
      spdlog::warn("job {} stalled: on {}, the pull of {} for clock {} has waited {:.1f} s for {}",
                   gate.job_id(), request.node_id(), stall.worker_id(), stall.clock(),
                   stall.seconds(), absl::StrJoin(late, ", "));
    }
  }
  SaveIfChanged();
  for (JobAssignment& job : jobs_.AssignmentsFor(request.node_id())) {
    *response->add_jobs() = std::move(job);
  }
  return absl::OkStatus();
}

absl::Status CoordinatorService::SubmitJob(const SubmitJobRequest& request,
                                           SubmitJobResponse* response) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  if (jobs_.ActiveJobs() >= options_.max_active_jobs) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the cluster already has ", options_.max_active_jobs,
        " jobs queued or running, its limit (--max_active_jobs); cancel one or wait"));
  }
  PETREL_ASSIGN_OR_RETURN(std::string id, jobs_.Submit(request.spec(), now));
  response->set_job_id(id);
  TickLocked(now);
  return absl::OkStatus();
}

absl::Status CoordinatorService::GetJob(const GetJobRequest& request, JobStatus* response) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  PETREL_ASSIGN_OR_RETURN(*response, jobs_.Get(request.job_id(), now));
  DescribeLateWorkers(response, now);
  return absl::OkStatus();
}

absl::Status CoordinatorService::ListJobs(const ListJobsRequest&, ListJobsResponse* response) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  for (JobStatus& job : jobs_.List(now)) {
    DescribeLateWorkers(&job, now);
    *response->add_jobs() = std::move(job);
  }
  return absl::OkStatus();
}

absl::Status CoordinatorService::CancelJob(const CancelJobRequest& request, JobStatus* response) {
  absl::MutexLock lock(&mu_);
  PETREL_ASSIGN_OR_RETURN(*response, jobs_.Cancel(request.job_id(), absl::Now()));
  SaveIfChanged();
  return absl::OkStatus();
}

absl::Status CoordinatorService::GetShardMap(const GetShardMapRequest& request,
                                             ShardMap* response) {
  absl::MutexLock lock(&mu_);
  PETREL_ASSIGN_OR_RETURN(*response, jobs_.GetShardMap(request.job_id()));
  return absl::OkStatus();
}

absl::Status CoordinatorService::ReportProgress(const ReportProgressRequest& request,
                                                ReportProgressResponse* response) {
  absl::MutexLock lock(&mu_);
  PETREL_ASSIGN_OR_RETURN(*response, jobs_.ReportProgress(request, absl::Now()));
  SaveIfChanged();
  return absl::OkStatus();
}

absl::Status CoordinatorService::GetClusterStatus(const GetClusterStatusRequest&,
                                                  ClusterStatus* response) {
  absl::MutexLock lock(&mu_);
  *response = membership_.Status(absl::Now());
  return absl::OkStatus();
}

absl::Status CoordinatorService::Restore() {
  if (options_.state_dir.empty()) return absl::OkStatus();
  PETREL_ASSIGN_OR_RETURN(CoordinatorState state, store_.Load());
  absl::MutexLock lock(&mu_);
  membership_.Load(state, absl::Now());
  jobs_.Load(state);
  if (state.jobs_size() > 0 || state.nodes_size() > 0) {
    spdlog::info("restored {} jobs and {} nodes from {}", state.jobs_size(), state.nodes_size(),
                 store_.path());
  }
  return absl::OkStatus();
}

void CoordinatorService::SaveIfChanged() {
  const bool jobs_changed = jobs_.TakeDirty();
  if (!(jobs_changed || nodes_changed_) || options_.state_dir.empty()) return;
  nodes_changed_ = false;
  CoordinatorState state;
  membership_.Save(&state);
  jobs_.Save(&state);
  absl::Status saved = store_.Save(state);
  if (!saved.ok()) spdlog::error("cannot save the coordinator's state: {}", saved.ToString());
}

absl::Status CoordinatorService::ReportUnreachable(const ReportUnreachableRequest& request,
                                                   ReportUnreachableResponse* response) {
  std::vector<std::pair<std::string, std::string>> servers;
  {
    absl::MutexLock lock(&mu_);
    servers = jobs_.ServersOfJob(request.job_id());
  }
  std::vector<std::string> dead;
  for (const auto& [id, address] : servers) {
    if (!liveness_probe_->ServerAnswers(address, options_.probe_deadline)) dead.push_back(id);
  }
  if (dead.empty()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  DeclareDead(dead,
              absl::StrCat("reported unreachable by ", request.reporter(), " (", request.error(),
                           ") and did not answer a probe"),
              absl::Now());
  response->set_declared_dead(true);
  return absl::OkStatus();
}

void CoordinatorService::Tick() {
  DriveRounds();
  struct Suspect {
    std::string id;
    NodeRole role;
    std::string address;
    absl::Time last_heartbeat;
  };
  std::vector<Suspect> suspects;
  {
    absl::MutexLock lock(&mu_);
    for (const Node* node : membership_.Suspects(absl::Now(), options_.heartbeat_timeout)) {
      suspects.push_back({node->id, node->role,
                          node->role == SERVER ? node->info.grpc_address()
                                               : node->info.http_address(),
                          node->last_heartbeat});
    }
  }
  // Probes run without the lock: heartbeats and calls go on meanwhile.
  std::vector<std::string> dead;
  for (const Suspect& suspect : suspects) {
    LivenessProbe& probe = *liveness_probe_;
    const bool answers = suspect.role == SERVER
                             ? probe.ServerAnswers(suspect.address, options_.probe_deadline)
                             : probe.WorkerAnswers(suspect.address, options_.probe_deadline);
    if (!answers) dead.push_back(suspect.id);
  }
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  std::vector<std::string> confirmed;
  for (const std::string& id : dead) {
    const Node* node = membership_.Find(id);
    // Heard from while it was probed: not dead after all.
    if (node != nullptr && now - node->last_heartbeat > options_.heartbeat_timeout) {
      confirmed.push_back(id);
    }
  }
  if (!confirmed.empty()) {
    DeclareDead(confirmed,
                absl::StrCat("sent no heartbeat for over ",
                             absl::FormatDuration(options_.heartbeat_timeout),
                             " and did not answer a probe"),
                now);
  }
  TickLocked(now);
}

void CoordinatorService::DeclareDead(const std::vector<std::string>& dead, const std::string& why,
                                     absl::Time now) {
  for (const std::string& id : dead) {
    const Node* node = membership_.Find(id);
    if (node == nullptr || node->dead) continue;
    spdlog::warn("{} on {} (pid {}) is dead: it {}", id, node->info.host(), node->info.pid(), why);
    membership_.MarkDead(id);
    nodes_changed_ = true;
  }
  jobs_.HandleDeadNodes({dead.begin(), dead.end()}, membership_, now);
  TickLocked(now);
}

void CoordinatorService::TickLocked(absl::Time now) {
  jobs_.Schedule(membership_.Alive(SERVER), membership_.Alive(WORKER), now);
  for (const std::string& stall : jobs_.NewBarrierStalls(now)) spdlog::warn("{}", stall);
  SaveIfChanged();
}

void CoordinatorService::DescribeLateWorkers(JobStatus* job, absl::Time now) {
  for (LateWorker& worker : *job->mutable_late_workers()) {
    if (const Node* node = membership_.Find(worker.worker_id())) {
      worker.set_host(node->info.host());
      worker.set_seconds_since_heartbeat(absl::ToDoubleSeconds(now - node->last_heartbeat));
    }
  }
}

nlohmann::json CoordinatorService::StatusJson() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  nlohmann::json nodes = nlohmann::json::array();
  const ClusterStatus cluster = membership_.Status(now);
  for (const NodeStatus& node : cluster.nodes()) {
    nodes.push_back({{"id", node.node_id()},
                     {"role", NodeRole_Name(node.role())},
                     {"host", node.host()},
                     {"grpc_address", node.grpc_address()},
                     {"status_url", StatusUrlOf(node.http_address(), "/status")},
                     {"device", node.device()},
                     {"devices", std::vector<std::string>(node.devices().begin(),
                                                          node.devices().end())},
                     {"alive", node.alive()},
                     {"seconds_since_heartbeat", node.seconds_since_heartbeat()}});
  }
  nlohmann::json jobs = nlohmann::json::array();
  for (JobStatus& job : jobs_.List(now)) {
    DescribeLateWorkers(&job, now);
    nlohmann::json workers = nlohmann::json::array();
    for (const WorkerProgress& w : job.workers()) {
      workers.push_back({{"worker", w.worker_id()}, {"rank", w.rank()}, {"epoch", w.epoch()},
                         {"step", w.step()}, {"clock", w.clock()},
                         {"train_loss", w.train_loss()},
                         {"samples_per_second", w.samples_per_second()},
                         {"finished_training", w.finished_training()}});
    }
    nlohmann::json entry = {{"job_id", job.job_id()},
                            {"name", job.name()},
                            {"state", JobState_Name(job.state())},
                            {"epoch", job.epoch()},
                            {"train_loss", job.train_loss()},
                            {"samples_per_second", job.samples_per_second()},
                            {"workers", workers}};
    entry["min_clock"] = job.min_clock();
    entry["max_observed_staleness"] = job.max_observed_staleness();
    entry["pulls_waited"] = job.pulls_waited();
    if (job.late_workers_size() > 0) {
      nlohmann::json late = nlohmann::json::array();
      for (const LateWorker& w : job.late_workers()) {
        late.push_back({{"worker", w.worker_id()}, {"host", w.host()}, {"clock", w.clock()},
                        {"seconds_since_heartbeat", w.seconds_since_heartbeat()}});
      }
      entry["stall"] = {{"waiting_seconds", job.stalled_seconds()}, {"late_workers", late}};
    }
    if (job.has_test_accuracy()) entry["test_accuracy"] = job.test_accuracy();
    if (!job.error().empty()) entry["error"] = job.error();
    entry["mode"] = job.spec().mode().empty() ? "sync" : job.spec().mode();
    if (job.member_accuracies_size() > 0) {
      entry["member_accuracies"] = std::vector<float>(job.member_accuracies().begin(),
                                                      job.member_accuracies().end());
    }
    if (job.spec().mode() == "federated") {
      const FederatedStatus& f = job.federated();
      entry["federated_round"] = f.round();
      entry["federated_phase"] = f.phase();
      entry["federated_rounds_completed"] = f.rounds_completed();
      entry["federated_rounds_abandoned"] = f.rounds_abandoned();
      entry["federated_workers_dropped"] = f.workers_dropped();
      entry["federated_last_dropped"] =
          std::vector<std::string>(f.last_dropped().begin(), f.last_dropped().end());
      if (job.spec().has_dp()) {
        entry["dp_epsilon"] = f.dp_epsilon();
        entry["dp_delta"] = job.spec().dp().delta();
      }
    }
    jobs.push_back(entry);
  }
  return {{"role", "coordinator"}, {"id", "coordinator"}, {"nodes", nodes}, {"jobs", jobs}};
}

}  // namespace petrel::coordinator

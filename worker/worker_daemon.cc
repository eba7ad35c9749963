#include "worker/worker_daemon.h"

#include <unistd.h>

#include "common/rpc/rpc.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "worker/federated_trainer.h"
#include "worker/progress_reporter.h"
#include "client/ps_client.h"
#include "client/rerouting_ps_client.h"
#include "worker/trainer.h"
#include "worker/worker_metrics.h"

namespace petrel::worker {
namespace {

// One stint of training: the job, its attempt, and the clock this worker
// joined it at (a worker that left and was given its rank back trains anew).
std::string TrainingKey(const JobAssignment& job) {
  const int64_t join = job.rank() < job.workers_size() ? job.workers(job.rank()).join_clock() : 0;
  return absl::StrCat(job.job_id(), "#", job.attempt(), "@", join);
}

}  // namespace

absl::StatusOr<std::unique_ptr<WorkerDaemon>> WorkerDaemon::Start(
    Options options, std::unique_ptr<CoordinatorClient> coordinator) {
  std::shared_ptr<spdlog::logger> log = NewDaemonLogger("worker", options.log_sink);
  PETREL_ASSIGN_OR_RETURN(std::shared_ptr<SecuredChannelFactory> channels,
                          SecuredChannelFactory::Create(options.security, log.get()));
  if (coordinator == nullptr) {
    PETREL_RETURN_IF_ERROR(channels->CheckReachable(options.coordinator_address));
  }
  auto daemon = std::unique_ptr<WorkerDaemon>(
      new WorkerDaemon(std::move(options), std::move(log), std::move(channels)));
  WorkerDaemon* self = daemon.get();
  std::string why;
  PETREL_ASSIGN_OR_RETURN(self->devices_, WorkerDevices::Create(self->options_.device, &why));
  if (!why.empty()) self->log_->info("{}", why);
  self->log_->info("offering jobs the devices [{}] (--device {})",
               absl::StrJoin(self->devices_->offered(), ", "), self->options_.device);

  const ListenOptions& listen = self->options_.listen;
  HttpStatusServer::Options http;
  http.host = listen.http_host;
  http.port = listen.http_port;
  http.security = HttpSecurityFor(self->channels_->security(), http.host, self->log_.get());
  http.status_json = [self] { return self->StatusJson().dump(2); };
  http.metrics_text = [self] {
    ReportProgressRequest report;
    {
      absl::MutexLock lock(&self->mu_);
      if (!self->job_id_.empty()) report = self->last_report_;
    }
    return WorkerMetricsText(report);
  };
  PETREL_ASSIGN_OR_RETURN(self->http_, HttpStatusServer::Start(std::move(http)));
  self->ports_ = {0, self->http_->port()};

  CoordinatorSession::Options session;
  session.role = WORKER;
  session.registration.set_host(HostName());
  // Workers serve no gRPC; the address identifies them in status pages.
  session.registration.set_grpc_address(AdvertisedAddress(listen, self->ports_.http_port, self->options_.coordinator_address));
  session.registration.set_http_address(AdvertisedHttpAddress(
      listen, self->ports_.http_port, self->options_.coordinator_address));
  session.registration.set_device(self->devices_->default_backend().Description());
  for (const std::string& device : self->devices_->offered()) {
    session.registration.add_devices(device);
  }
  session.registration.set_pid(getpid());
  session.on_registered = [self](const std::string& id) {
    SetDaemonLoggerId(*self->log_, "worker", id);
    self->log_->info("registered as {}", id);
  };
  session.on_heartbeat = [self](const HeartbeatResponse& response) { self->OnHeartbeat(response); };
  self->coordinator_ = coordinator != nullptr
                           ? std::move(coordinator)
                           : NewGrpcCoordinatorClient(*self->channels_, self->options_.coordinator_address);
  self->session_ = std::make_unique<CoordinatorSession>(self->coordinator_.get(), session);
  PETREL_RETURN_IF_ERROR(self->session_->Start(self->options_.register_timeout));
  return daemon;
}

WorkerDaemon::~WorkerDaemon() {
  if (session_) session_->Stop();  // no new assignments from here on
  StopTrainer();
}

void WorkerDaemon::StopTrainer() {
  stop_trainer_ = true;
  if (trainer_.joinable()) trainer_.join();
  stop_trainer_ = false;
}

void WorkerDaemon::OnHeartbeat(const HeartbeatResponse& response) {
  const JobAssignment* running = nullptr;
  for (const JobAssignment& job : response.jobs()) {
    if (job.state() == RUNNING) running = &job;
  }
  std::string current, training;
  int attempt = 0;
  {
    absl::MutexLock lock(&mu_);
    current = job_id_;
    attempt = attempt_;
    training = training_;
  }
  if (!current.empty()) {
    if (running != nullptr && running->job_id() == current && running->attempt() == attempt &&
        TrainingKey(*running) == training) {
      return;  // still training it
    }
    log_->info("job {} (attempt {}) is no longer assigned here; stopping its trainer", current,
                 attempt);
    StopTrainer();
  }
  if (running != nullptr) StartTrainer(*running);
}

void WorkerDaemon::StartTrainer(const JobAssignment& assignment) {
  // A trainer that ended on its own is joined before the next starts.
  if (trainer_.joinable()) trainer_.join();
  {
    absl::MutexLock lock(&mu_);
    // A job stays RUNNING until every worker is done; train each attempt (and
    // each time this worker joins it) once.
    if (last_trained_ == TrainingKey(assignment)) return;
    training_ = TrainingKey(assignment);
    job_id_ = assignment.job_id();
    attempt_ = assignment.attempt();
    rank_ = assignment.rank();
    last_report_.Clear();
    job_device_.clear();
  }
  trainer_ = std::thread([this, assignment] {
    TrainerContext context;
    context.assignment = assignment;
    context.worker_id = id();
    context.coordinator = coordinator_.get();
    context.stop_requested = [this] { return stop_trainer_.load(); };
    // The job's device, or a refusal that fails the job with the reason (a
    // coordinator that does not filter by device, or a race).
    absl::StatusOr<kernels::Backend*> backend =
        devices_->BackendFor(assignment.spec().cluster().device());
    if (!backend.ok()) {
      ProgressReporter(&context).ReportFailure(backend.status());  // logs it too
      absl::MutexLock lock(&mu_);
      last_trained_ = TrainingKey(assignment);
      job_id_.clear();
      return;
    }
    context.backend = *backend;
    {
      absl::MutexLock lock(&mu_);
      job_device_ = context.backend->Description();
    }
    log_->info("job {} (cluster.device {}) trains on {}", assignment.job_id(),
                 assignment.spec().cluster().device(), context.backend->Description());
    PsClientOptions ps_options;
    ps_options.job_id = assignment.job_id();
    ps_options.worker_id = id();
    ps_options.compression = assignment.spec().compression();
    ps_options.channels = channels_.get();
    // Federated workers read the global model outside any clock: the
    // coordinator's rounds order them.
    const bool federated = assignment.spec().mode() == "federated";
    ps_options.observer = federated;
    ReroutingOptions rerouting;
    rerouting.fetch_map = [this, &assignment] {
      return coordinator_->GetShardMap(assignment.job_id());
    };
    rerouting.report_unreachable = [this, &assignment](const std::string& error) {
      ReportUnreachableRequest report;
      report.set_job_id(assignment.job_id());
      report.set_reporter(id());
      report.set_error(error);
      auto answer = coordinator_->ReportUnreachable(report);
      if (!answer.ok()) log_->warn("could not tell the coordinator: {}", answer.status().ToString());
    };
    rerouting.stop_requested = [this] { return stop_trainer_.load(); };
    auto ps = std::make_unique<ReroutingPsClient>(assignment.shard_map(), ps_options, rerouting);
    context.ps = ps.get();
    context.on_report = [this](const ReportProgressRequest& report) {
      absl::MutexLock lock(&mu_);
      last_report_ = report;
    };
    absl::Status status =
        federated ? FederatedTrainer(context).Run() : Trainer(context).Run();
    log_->info("job {} ended here: {}", assignment.job_id(), status.ToString());
    absl::MutexLock lock(&mu_);
    last_trained_ = TrainingKey(assignment);
    job_id_.clear();
  });
}

nlohmann::json WorkerDaemon::StatusJson() const {
  absl::MutexLock lock(&mu_);
  nlohmann::json status = {{"role", "worker"},
                           {"id", id()},
                           {"host", HostName()},
                           {"pid", getpid()},
                           {"http_port", ports_.http_port},
                           {"coordinator", options_.coordinator_address},
                           {"device", job_device_.empty()
                                          ? devices_->default_backend().Description()
                                          : job_device_},
                           {"devices", devices_->offered()},
                           {"uptime_seconds", absl::ToDoubleSeconds(absl::Now() - started_)}};
  if (!job_id_.empty()) {
    status["job"] = {{"job_id", job_id_},
                     {"rank", rank_},
                     {"epoch", last_report_.epoch()},
                     {"clock", last_report_.clock()},
                     {"train_loss", last_report_.train_loss()},
                     {"samples_per_second", last_report_.samples_per_second()}};
  }
  return status;
}

}  // namespace petrel::worker

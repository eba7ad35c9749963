#include "server/server_daemon.h"

#include <unistd.h>

#include "common/rpc/rpc.h"
#include "common/status_macros.h"
#include "server/server_metrics.h"
#include "spdlog/spdlog.h"

namespace petrel::server {

ServerDaemon::ServerDaemon(Options options, std::shared_ptr<spdlog::logger> log,
                           std::shared_ptr<SecuredChannelFactory> channels)
    : options_(std::move(options)), log_(std::move(log)), channels_(std::move(channels)) {}

absl::StatusOr<std::unique_ptr<ServerDaemon>> ServerDaemon::Start(Options options) {
  std::shared_ptr<spdlog::logger> log = NewDaemonLogger("server", options.log_sink);
  PETREL_ASSIGN_OR_RETURN(std::shared_ptr<SecuredChannelFactory> channels,
                          SecuredChannelFactory::Create(options.security, log.get()));
  PETREL_RETURN_IF_ERROR(channels->CheckReachable(options.coordinator_address));
  auto daemon = std::unique_ptr<ServerDaemon>(
      new ServerDaemon(std::move(options), std::move(log), std::move(channels)));
  ServerDaemon* self = daemon.get();
  const ListenOptions& listen = self->options_.listen;
  const LoadedTransportSecurity& security = self->channels_->security();

  PETREL_ASSIGN_OR_RETURN(self->grpc_,
                          StartGrpcServer(security, GrpcBindHost(listen), listen.port,
                                          {&self->grpc_service_}, self->log_.get()));
  HttpStatusServer::Options http;
  http.host = listen.http_host;
  http.port = listen.http_port;
  http.security = HttpSecurityFor(security, http.host, self->log_.get());
  http.status_json = [self] { return self->StatusJson().dump(2); };
  http.metrics_text = [self] {
    return ServerMetricsText(self->store_.StatusJson(), self->grpc_service_.pull_seconds(),
                             self->grpc_service_.push_seconds());
  };
  PETREL_ASSIGN_OR_RETURN(self->http_, HttpStatusServer::Start(std::move(http)));
  self->ports_ = {self->grpc_.port, self->http_->port()};

  CoordinatorSession::Options session;
  session.role = SERVER;
  session.registration.set_host(HostName());
  session.registration.set_grpc_address(AdvertisedAddress(listen, self->ports_.grpc_port, self->options_.coordinator_address));
  session.registration.set_http_address(AdvertisedHttpAddress(
      listen, self->ports_.http_port, self->options_.coordinator_address));
  session.registration.set_pid(getpid());
  session.on_registered = [self](const std::string& id) {
    self->store_.set_server_id(id);
    SetDaemonLoggerId(*self->log_, "server", id);
    self->log_->info("registered as {}", id);
  };
  session.fill_heartbeat = [self](HeartbeatRequest* request) {
    for (GateReport& report : self->store_.GateReports(absl::Now())) {
      *request->add_gates() = std::move(report);
    }
  };
  session.on_heartbeat = [self](const HeartbeatResponse& response) {
    self->store_.Reconcile({response.jobs().begin(), response.jobs().end()});
    self->store_.CheckStalls(absl::Now());
  };
  self->store_.set_on_newer_epoch([self] {
    if (self->session_) self->session_->HeartbeatNow();
  });
  self->coordinator_ = NewGrpcCoordinatorClient(*self->channels_, self->options_.coordinator_address);
  self->session_ = std::make_unique<CoordinatorSession>(self->coordinator_.get(), session);
  PETREL_RETURN_IF_ERROR(self->session_->Start(self->options_.register_timeout));
  self->rebuilder_ = std::thread([self] {
    while (!self->stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
      self->service_.RunDueTransfers();
    }
  });
  return daemon;
}

ServerDaemon::~ServerDaemon() {
  stop_.Notify();
  if (rebuilder_.joinable()) rebuilder_.join();
  if (session_) session_->Stop();
  // Waiting pulls must finish before gRPC can shut down.
  store_.CloseAll(absl::UnavailableError("the server is shutting down"));
  http_.reset();
  if (grpc_.server) grpc_.server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
}

nlohmann::json ServerDaemon::StatusJson() const {
  return {{"role", "server"},
          {"id", id()},
          {"host", HostName()},
          {"pid", getpid()},
          {"grpc_port", ports_.grpc_port},
          {"http_port", ports_.http_port},
          {"coordinator", options_.coordinator_address},
          {"uptime_seconds", absl::ToDoubleSeconds(absl::Now() - started_)},
          {"jobs", store_.StatusJson()}};
}

}  // namespace petrel::server

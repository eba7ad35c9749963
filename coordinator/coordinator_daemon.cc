#include "coordinator/coordinator_daemon.h"

#include "common/rpc/rpc.h"
#include "common/status_macros.h"
#include "coordinator/coordinator_metrics.h"
#include "coordinator/dashboard.h"

namespace petrel::coordinator {

absl::StatusOr<std::unique_ptr<CoordinatorDaemon>> CoordinatorDaemon::Start(Options options) {
  std::shared_ptr<spdlog::logger> log = NewDaemonLogger("coordinator", options.log_sink);
  PETREL_ASSIGN_OR_RETURN(std::shared_ptr<SecuredChannelFactory> channels,
                          SecuredChannelFactory::Create(options.security, log.get()));
  auto daemon = std::unique_ptr<CoordinatorDaemon>(
      new CoordinatorDaemon(std::move(options), std::move(log), std::move(channels)));
  CoordinatorDaemon* self = daemon.get();
  const ListenOptions& listen = self->options_.listen;
  const LoadedTransportSecurity& security = self->channels_->security();
  // Jobs that ran before a restart are known before any node calls in.
  PETREL_RETURN_IF_ERROR(self->service_.Restore());
  PETREL_ASSIGN_OR_RETURN(self->grpc_,
                          StartGrpcServer(security, GrpcBindHost(listen), listen.port,
                                          {&self->grpc_service_}, self->log_.get()));
  HttpStatusServer::Options http;
  http.host = listen.http_host;
  http.port = listen.http_port;
  http.security = HttpSecurityFor(security, http.host, self->log_.get());
  http.status_json = [self] { return self->service_.StatusJson().dump(2); };
  http.metrics_text = [self] { return CoordinatorMetricsText(self->service_.StatusJson()); };
  // The pages own the dashboard, so it stops with http_, before service_ goes.
  http.pages = DashboardPages(&self->service_);
  PETREL_ASSIGN_OR_RETURN(self->http_, HttpStatusServer::Start(std::move(http)));
  self->ports_ = {self->grpc_.port, self->http_->port()};
  self->ticker_ = std::thread([self] {
    while (!self->stop_.WaitForNotificationWithTimeout(absl::Milliseconds(100))) {
      self->service_.Tick();
    }
  });
  return daemon;
}

CoordinatorDaemon::~CoordinatorDaemon() {
  stop_.Notify();
  if (ticker_.joinable()) ticker_.join();
  http_.reset();
  if (grpc_.server) grpc_.server->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
}

}  // namespace petrel::coordinator

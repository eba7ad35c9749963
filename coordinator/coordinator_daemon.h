// petrel-coordinator as an object: the coordinator service on gRPC, /status
// on HTTP, and the ticker that detects dead nodes and starts queued jobs.
#ifndef PETREL_COORDINATOR_COORDINATOR_DAEMON_H_
#define PETREL_COORDINATOR_COORDINATOR_DAEMON_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "common/daemon/daemon_options.h"
#include "common/daemon/daemon_util.h"
#include "common/daemon/http_status_server.h"
#include "common/rpc/rpc.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/grpc_coordinator_service.h"
#include "spdlog/logger.h"

namespace petrel::coordinator {

class CoordinatorDaemon {
 public:
  struct Options {
    ListenOptions listen;
    CoordinatorService::Options service;
    // How its gRPC port and HTTP pages are secured; loaded at Start.
    // Default: plaintext (in-process test clusters).
    TransportSecurity security{"coordinator"};
    spdlog::sink_ptr log_sink;  // where its log lines go; null: stdout
  };

  static absl::StatusOr<std::unique_ptr<CoordinatorDaemon>> Start(Options options);
  ~CoordinatorDaemon();

  DaemonPorts ports() const { return ports_; }
  // host:port servers, workers and the CLI dial.
  std::string address() const { return AdvertisedAddress(options_.listen, ports_.grpc_port); }
  CoordinatorService& service() { return service_; }
  // The coordinator registers no id of its own.
  std::string id() const { return ""; }
  spdlog::logger& logger() const { return *log_; }
  // Its outbound channels, secured as it is.
  SecuredChannelFactory& channels() const { return *channels_; }

 private:
  CoordinatorDaemon(Options options, std::shared_ptr<spdlog::logger> log,
                    std::shared_ptr<SecuredChannelFactory> channels)
      : options_(std::move(options)),
        log_(std::move(log)),
        channels_(std::move(channels)),
        service_(WithChannels(options_.service, channels_)) {}

  static CoordinatorService::Options WithChannels(CoordinatorService::Options options,
                                                  std::shared_ptr<SecuredChannelFactory> channels) {
    options.channels = std::move(channels);
    return options;
  }

  const Options options_;
  // First in, last out: everything below may log or call out until it goes.
  const std::shared_ptr<spdlog::logger> log_;
  const std::shared_ptr<SecuredChannelFactory> channels_;
  CoordinatorService service_;
  GrpcCoordinatorService grpc_service_{&service_};
  StartedGrpcServer grpc_;
  std::unique_ptr<HttpStatusServer> http_;
  DaemonPorts ports_;
  absl::Notification stop_;
  std::thread ticker_;
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_COORDINATOR_DAEMON_H_

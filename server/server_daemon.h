// petrel-server as an object: the parameter service on gRPC, /status on HTTP,
// and membership with the coordinator. main.cc only turns flags into Options;
// tests run several of these in one process.
#ifndef PETREL_SERVER_SERVER_DAEMON_H_
#define PETREL_SERVER_SERVER_DAEMON_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/notification.h"

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/coordinator_client.h"
#include "client/coordinator_session.h"
#include "common/daemon/daemon_options.h"
#include "common/daemon/daemon_util.h"
#include "common/daemon/http_status_server.h"
#include "common/rpc/rpc.h"
#include "nlohmann/json.hpp"
#include "server/grpc_parameter_service.h"
#include "server/grpc_replica_client.h"
#include "server/parameter_service.h"
#include "server/shard_store.h"
#include "spdlog/logger.h"

namespace petrel::server {

class ServerDaemon {
 public:
  struct Options {
    std::string coordinator_address;
    ListenOptions listen;
    absl::Duration register_timeout = absl::Seconds(30);
    // How its gRPC port, HTTP pages and outbound calls are secured; loaded
    // at Start. Default: plaintext (in-process test clusters).
    TransportSecurity security{"server"};
    spdlog::sink_ptr log_sink;  // where its log lines go; null: stdout
  };

  // Listens, registers with the coordinator and starts heartbeating.
  static absl::StatusOr<std::unique_ptr<ServerDaemon>> Start(Options options);
  ~ServerDaemon();  // stops serving and leaves the cluster

  DaemonPorts ports() const { return ports_; }
  std::string id() const { return session_ ? session_->node_id() : ""; }
  nlohmann::json StatusJson() const;
  // Its own logger: every line names it ("server server-1").
  spdlog::logger& logger() const { return *log_; }
  // Its outbound channels, secured as it is.
  SecuredChannelFactory& channels() const { return *channels_; }

 private:
  ServerDaemon(Options options, std::shared_ptr<spdlog::logger> log,
               std::shared_ptr<SecuredChannelFactory> channels);

  const Options options_;
  // First in, last out: everything below may log or call out until it goes.
  const std::shared_ptr<spdlog::logger> log_;
  const std::shared_ptr<SecuredChannelFactory> channels_;
  const absl::Time started_ = absl::Now();
  ShardStore store_{"unregistered"};
  // Forwards pushes and sends state down the chain over the daemon's channels.
  GrpcReplicaClient replicas_{*channels_};
  ParameterService service_{&store_, &replicas_};
  GrpcParameterService grpc_service_{&service_};
  StartedGrpcServer grpc_;
  std::unique_ptr<HttpStatusServer> http_;
  std::unique_ptr<CoordinatorClient> coordinator_;
  std::unique_ptr<CoordinatorSession> session_;
  DaemonPorts ports_;
  // Sends shard groups' state to servers rebuilding a replica.
  absl::Notification stop_;
  std::thread rebuilder_;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_SERVER_DAEMON_H_

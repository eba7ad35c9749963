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
#include "common/coordinator_client.h"
#include "common/coordinator_session.h"
#include "common/daemon_options.h"
#include "common/daemon_util.h"
#include "common/http_status_server.h"
#include "common/rpc.h"
#include "nlohmann/json.hpp"
#include "server/grpc_parameter_service.h"
#include "server/grpc_replica_client.h"
#include "server/parameter_service.h"
#include "server/shard_store.h"

namespace petrel::server {

class ServerDaemon {
 public:
  struct Options {
    std::string coordinator_address;
    ListenOptions listen;
    absl::Duration register_timeout = absl::Seconds(30);
  };

  // Listens, registers with the coordinator and starts heartbeating.
  static absl::StatusOr<std::unique_ptr<ServerDaemon>> Start(Options options);
  ~ServerDaemon();  // stops serving and leaves the cluster

  DaemonPorts ports() const { return ports_; }
  std::string id() const { return session_ ? session_->node_id() : ""; }
  nlohmann::json StatusJson() const;

 private:
  explicit ServerDaemon(Options options);

  const Options options_;
  const absl::Time started_ = absl::Now();
  ShardStore store_{"unregistered"};
  // Until the daemon owns its ChannelFactory, the process-wide one.
  GrpcReplicaClient replicas_{ProcessChannelFactory()};
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

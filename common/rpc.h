// Channel and server set-up shared by every daemon and client, so that
// message limits (and, later, credentials) are decided in one place.
#ifndef PETREL_COMMON_RPC_H_
#define PETREL_COMMON_RPC_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"
#include "grpcpp/impl/codegen/service_type.h"

namespace petrel {

// Largest message a Petrel endpoint sends or accepts.
inline constexpr int kMaxMessageBytes = 64 << 20;

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

struct StartedGrpcServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// Binds host:port (0: the OS picks) and starts serving `services`. A port
// that cannot be bound is an error naming it.
absl::StatusOr<StartedGrpcServer> StartGrpcServer(const std::string& host, int port,
                                                   const std::vector<grpc::Service*>& services);

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_H_

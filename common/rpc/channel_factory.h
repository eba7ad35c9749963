// Where every outbound gRPC channel of a daemon or client comes from. Each
// daemon owns one, secured as that daemon is (its TLS files, its cluster
// token), and hands it to the components that call out: the PS and
// coordinator clients, replica forwarding, the coordinator's CloseRound and
// liveness probe. Nothing reads process-wide security, so two daemons with
// different settings can live in one process (tests/in_process_cluster.h).
#ifndef PETREL_COMMON_RPC_CHANNEL_FACTORY_H_
#define PETREL_COMMON_RPC_CHANNEL_FACTORY_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "grpcpp/channel.h"

namespace petrel {

class ChannelFactory {
 public:
  virtual ~ChannelFactory() = default;

  // A channel to `address` (host:port, or unix:PATH). It never sends the
  // cluster token over plaintext TCP.
  virtual std::shared_ptr<grpc::Channel> Channel(const std::string& address) = 0;

  // Whether a call to `address` may be made as this factory is secured: a TCP
  // peer with a cluster token and no TLS is refused, since the token would
  // cross the network in the clear. Check addresses a user gives.
  virtual absl::Status CheckReachable(const std::string& address) const = 0;
};

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_CHANNEL_FACTORY_H_

// How a server calls the next server of a shard group's chain: forwarding a
// push it has applied, and sending a chunk of the group's state to a server
// being rebuilt (server/replica_transfer.h). ParameterService holds one;
// the daemon gives it the gRPC one (server/grpc_replica_client.h), tests a
// fake (server/fake_replica_client.h).
#ifndef PETREL_SERVER_REPLICA_CLIENT_H_
#define PETREL_SERVER_REPLICA_CLIENT_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/parameter.pb.h"

namespace petrel::server {

class ReplicaClient {
 public:
  using Done = std::function<void(absl::Status)>;

  virtual ~ReplicaClient() = default;

  // Sends `push`, the bytes of a PushRequest as they arrived (they share the
  // received slices: nothing is copied or parsed again), to the server at
  // `address` as its Push call. `done` runs once, with that server's answer
  // (its error prefixed with "replicating the push to ADDRESS"), possibly
  // on another thread.
  virtual void ForwardPush(const std::string& address, const grpc::ByteBuffer& push,
                           Done done) = 0;

  // One InstallReplica call to the server at `address`; blocks until it
  // answers or the call times out.
  virtual absl::StatusOr<InstallReplicaResponse> InstallReplica(
      const std::string& address, const InstallReplicaRequest& chunk) = 0;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_REPLICA_CLIENT_H_

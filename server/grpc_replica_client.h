// ReplicaClient over gRPC: one channel per next server, from the daemon's
// ChannelFactory (so it is secured as the daemon is), with the typed stub
// for state transfers and the generic one for pushes (sent as the bytes
// they came in).
#ifndef PETREL_SERVER_GRPC_REPLICA_CLIENT_H_
#define PETREL_SERVER_GRPC_REPLICA_CLIENT_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/rpc/channel_factory.h"
#include "grpcpp/generic/generic_stub.h"
#include "proto/parameter.grpc.pb.h"
#include "server/replica_client.h"

namespace petrel::server {

struct GrpcReplicaClientOptions {
  // How long a push may wait for the rest of its chain.
  absl::Duration forward_timeout = absl::Seconds(30);
  // How long one chunk's call may take, installing the state included.
  // A chunk is a few MiB; the last one installs up to 2 GiB of state. A
  // call that runs out is resumed from (the receiver says where it stands).
  absl::Duration chunk_timeout = absl::Seconds(10);
};

class GrpcReplicaClient : public ReplicaClient {
 public:
  using Options = GrpcReplicaClientOptions;

  // `channels` must outlive this client.
  explicit GrpcReplicaClient(ChannelFactory& channels, Options options = {})
      : channels_(channels), options_(options) {}

  void ForwardPush(const std::string& address, const grpc::ByteBuffer& push,
                   Done done) override;
  absl::StatusOr<InstallReplicaResponse> InstallReplica(
      const std::string& address, const InstallReplicaRequest& chunk) override;

 private:
  struct Stubs {
    std::unique_ptr<Parameter::Stub> typed;
    std::unique_ptr<grpc::GenericStub> generic;
  };
  Stubs& StubsFor(const std::string& address);

  ChannelFactory& channels_;
  const Options options_;
  absl::Mutex mu_;
  std::map<std::string, Stubs> stubs_ ABSL_GUARDED_BY(mu_);  // a std::map: references stay valid
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_GRPC_REPLICA_CLIENT_H_

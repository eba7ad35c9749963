#include "server/grpc_replica_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc/grpc_status.h"

namespace petrel::server {

void GrpcReplicaClient::ForwardPush(const std::string& address, const grpc::ByteBuffer& push,
                                    Done done) {
  struct Forward {
    grpc::ClientContext context;
    grpc::ByteBuffer request;  // shares the received slices
    grpc::ByteBuffer response;
  };
  auto forward = std::make_shared<Forward>();
  forward->request = push;
  forward->context.set_deadline(absl::ToChronoTime(absl::Now() + options_.forward_timeout));
  StubsFor(address).generic->UnaryCall(
      &forward->context, "/petrel.Parameter/Push", grpc::StubOptions(), &forward->request,
      &forward->response, [forward, address, done = std::move(done)](grpc::Status status) {
        if (status.ok()) return done(absl::OkStatus());
        done(FromGrpcStatus(status, absl::StrCat("replicating the push to ", address)));
      });
}

absl::StatusOr<InstallReplicaResponse> GrpcReplicaClient::InstallReplica(
    const std::string& address, const InstallReplicaRequest& chunk) {
  InstallReplicaResponse response;
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + options_.chunk_timeout));
  grpc::Status status = StubsFor(address).typed->InstallReplica(&context, chunk, &response);
  if (!status.ok()) return FromGrpcStatus(status, absl::StrCat("InstallReplica to ", address));
  return response;
}

GrpcReplicaClient::Stubs& GrpcReplicaClient::StubsFor(const std::string& address) {
  absl::MutexLock lock(&mu_);
  Stubs& stubs = stubs_[address];
  if (stubs.typed == nullptr) {
    std::shared_ptr<grpc::Channel> channel = channels_.Channel(address);
    stubs.typed = Parameter::NewStub(channel);
    stubs.generic = std::make_unique<grpc::GenericStub>(channel);
  }
  return stubs;
}

}  // namespace petrel::server

#include "server/grpc_parameter_service.h"

#include "common/grpc_status.h"
#include "common/parameter_wire.h"
#include "common/request_limits.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace petrel::server {

grpc::ServerUnaryReactor* GrpcParameterService::Pull(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The call's typed messages live until the shards answer (which a gate
  // may delay).
  struct Call {
    PullRequest request;
    PullResponse response;
  };
  auto call = std::make_unique<Call>();
  grpc::Status parsed =
      grpc::SerializationTraits<PullRequest>::Deserialize(const_cast<grpc::ByteBuffer*>(request),
                                                          &call->request);
  if (!parsed.ok()) {
    reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                                 "the pull request is not a valid PullRequest"));
    return reactor;
  }
  if (absl::Status limits = CheckRequestLimits(call->request); !limits.ok()) {
    reactor->Finish(ToGrpcStatus(limits));
    return reactor;
  }
  Call* raw = call.release();
  const absl::Time start = absl::Now();
  service_->Pull(raw->request, &raw->response,
                 [this, reactor, raw, response, start](absl::Status status) {
                   std::unique_ptr<Call> owned(raw);
                   if (status.ok()) *response = EncodePullResponse(&owned->response);
                   pull_seconds_.Observe(absl::ToDoubleSeconds(absl::Now() - start));
                   reactor->Finish(ToGrpcStatus(status));
                 });
  return reactor;
}

grpc::ServerUnaryReactor* GrpcParameterService::Push(grpc::CallbackServerContext* context,
                                                     const PushRequest* request,
                                                     PushResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status limits = CheckRequestLimits(*request); !limits.ok()) {
    reactor->Finish(ToGrpcStatus(limits));
    return reactor;
  }
  const absl::Time start = absl::Now();
  service_->Push(*request, response, [this, reactor, start](absl::Status status) {
    push_seconds_.Observe(absl::ToDoubleSeconds(absl::Now() - start));
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

grpc::ServerUnaryReactor* GrpcParameterService::InstallReplica(
    grpc::CallbackServerContext* context, const InstallReplicaRequest* request,
    InstallReplicaResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  if (absl::Status limits = CheckRequestLimits(*request); !limits.ok()) {
    reactor->Finish(ToGrpcStatus(limits));
    return reactor;
  }
  reactor->Finish(ToGrpcStatus(service_->InstallReplica(*request, response)));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcParameterService::CloseRound(grpc::CallbackServerContext* context,
                                                           const CloseRoundRequest* request,
                                                           CloseRoundResponse*) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(service_->CloseRound(*request)));
  return reactor;
}

grpc::ServerUnaryReactor* GrpcParameterService::ListSparseRows(
    grpc::CallbackServerContext* context, const ListSparseRowsRequest* request,
    ListSparseRowsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(service_->ListSparseRows(*request, response)));
  return reactor;
}

}  // namespace petrel::server

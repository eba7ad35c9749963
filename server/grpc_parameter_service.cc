#include "server/grpc_parameter_service.h"

#include "common/grpc_status.h"
#include "common/parameter_wire.h"
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
  Call* raw = call.release();
  service_->Pull(raw->request, &raw->response, [reactor, raw, response](absl::Status status) {
    std::unique_ptr<Call> owned(raw);
    if (status.ok()) *response = EncodePullResponse(&owned->response);
    reactor->Finish(ToGrpcStatus(status));
  });
  return reactor;
}

grpc::ServerUnaryReactor* GrpcParameterService::Push(grpc::CallbackServerContext* context,
                                                     const PushRequest* request,
                                                     PushResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->Push(*request, response,
                 [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
  return reactor;
}

}  // namespace petrel::server

#include "server/grpc_parameter_service.h"

#include "common/grpc_status.h"

namespace petrel::server {

grpc::ServerUnaryReactor* GrpcParameterService::Pull(grpc::CallbackServerContext* context,
                                                     const PullRequest* request,
                                                     PullResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  service_->Pull(*request, response,
                 [reactor](absl::Status status) { reactor->Finish(ToGrpcStatus(status)); });
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

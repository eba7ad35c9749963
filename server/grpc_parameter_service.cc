#include "server/grpc_parameter_service.h"

#include "common/rpc/grpc_status.h"
#include "common/wire/parameter_wire.h"
#include "common/rpc/request_limits.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "spdlog/spdlog.h"

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

GrpcParameterService::~GrpcParameterService() {
  const PushDecodeStats stats = push_decode_stats();
  if (stats.in_place + stats.split + stats.misaligned == 0) return;
  spdlog::info("pushes' tensor fields: {} used where they arrived, {} gathered across slices, "
               "{} gathered to align them ({} bytes gathered)",
               stats.in_place, stats.split, stats.misaligned, stats.gathered_bytes);
}

PushDecodeStats GrpcParameterService::push_decode_stats() const {
  PushDecodeStats stats;
  stats.in_place = in_place_.load();
  stats.split = split_.load();
  stats.misaligned = misaligned_.load();
  stats.gathered_bytes = gathered_bytes_.load();
  return stats;
}

grpc::ServerUnaryReactor* GrpcParameterService::Push(grpc::CallbackServerContext* context,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  PushDecodeStats stats;
  absl::StatusOr<PushView> push = DecodePush(*request, &stats);
  in_place_ += stats.in_place;
  split_ += stats.split;
  misaligned_ += stats.misaligned;
  gathered_bytes_ += stats.gathered_bytes;
  if (!push.ok()) {
    reactor->Finish(ToGrpcStatus(push.status()));
    return reactor;
  }
  if (absl::Status limits = CheckRequestLimits(*push); !limits.ok()) {
    reactor->Finish(ToGrpcStatus(limits));
    return reactor;
  }
  // The answer, encoded here once the service has filled it.
  auto answer = std::make_unique<PushResponse>();
  PushResponse* raw = answer.release();
  const absl::Time start = absl::Now();
  service_->Push(std::move(*push), *request, raw,
                 [this, reactor, raw, response, start](absl::Status status) {
                   std::unique_ptr<PushResponse> owned(raw);
                   // A push-pull's values go to gRPC without another copy.
                   if (status.ok()) *response = EncodePushResponse(owned.get());
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

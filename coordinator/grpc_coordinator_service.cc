#include "coordinator/grpc_coordinator_service.h"

#include <thread>

#include "common/rpc/grpc_status.h"

namespace petrel::coordinator {
namespace {

grpc::ServerUnaryReactor* Finish(grpc::CallbackServerContext* context, absl::Status status) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status));
  return reactor;
}

}  // namespace

using Reactor = GrpcCoordinatorService::Reactor;
using Context = GrpcCoordinatorService::Context;

Reactor* GrpcCoordinatorService::RegisterServer(Context* c, const RegisterRequest* q,
                                                RegisterResponse* r) {
  return Finish(c, service_->RegisterServer(*q, r));
}
Reactor* GrpcCoordinatorService::RegisterWorker(Context* c, const RegisterRequest* q,
                                                RegisterResponse* r) {
  return Finish(c, service_->RegisterWorker(*q, r));
}
Reactor* GrpcCoordinatorService::Heartbeat(Context* c, const HeartbeatRequest* q,
                                           HeartbeatResponse* r) {
  return Finish(c, service_->Heartbeat(*q, r));
}
Reactor* GrpcCoordinatorService::SubmitJob(Context* c, const SubmitJobRequest* q,
                                           SubmitJobResponse* r) {
  return Finish(c, service_->SubmitJob(*q, r));
}
Reactor* GrpcCoordinatorService::GetJob(Context* c, const GetJobRequest* q, JobStatus* r) {
  return Finish(c, service_->GetJob(*q, r));
}
Reactor* GrpcCoordinatorService::ListJobs(Context* c, const ListJobsRequest* q,
                                          ListJobsResponse* r) {
  return Finish(c, service_->ListJobs(*q, r));
}
Reactor* GrpcCoordinatorService::CancelJob(Context* c, const CancelJobRequest* q, JobStatus* r) {
  return Finish(c, service_->CancelJob(*q, r));
}
Reactor* GrpcCoordinatorService::GetShardMap(Context* c, const GetShardMapRequest* q,
                                             ShardMap* r) {
  return Finish(c, service_->GetShardMap(*q, r));
}
Reactor* GrpcCoordinatorService::ReportProgress(Context* c, const ReportProgressRequest* q,
                                                ReportProgressResponse* r) {
  return Finish(c, service_->ReportProgress(*q, r));
}
Reactor* GrpcCoordinatorService::GetClusterStatus(Context* c, const GetClusterStatusRequest* q,
                                                  ClusterStatus* r) {
  return Finish(c, service_->GetClusterStatus(*q, r));
}
Reactor* GrpcCoordinatorService::FederatedRound(Context* c, const RoundRequest* q, RoundInfo* r) {
  return Finish(c, service_->FederatedRound(*q, r));
}

Reactor* GrpcCoordinatorService::ReportUnreachable(Context* c, const ReportUnreachableRequest* q,
                                                   ReportUnreachableResponse* r) {
  Reactor* reactor = c->DefaultReactor();
  std::thread([this, reactor, q, r] {
    reactor->Finish(ToGrpcStatus(service_->ReportUnreachable(*q, r)));
  }).detach();
  return reactor;
}

}  // namespace petrel::coordinator

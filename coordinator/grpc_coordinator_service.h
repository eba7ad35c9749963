// The gRPC face of CoordinatorService. Every call is short and runs under the
// service's lock, so it completes on the callback thread.
#ifndef PETREL_COORDINATOR_GRPC_COORDINATOR_SERVICE_H_
#define PETREL_COORDINATOR_GRPC_COORDINATOR_SERVICE_H_

#include "coordinator/coordinator_service.h"
#include "proto/coordinator.grpc.pb.h"

namespace petrel::coordinator {

class GrpcCoordinatorService final : public Coordinator::CallbackService {
 public:
  explicit GrpcCoordinatorService(CoordinatorService* service) : service_(service) {}

  using Reactor = grpc::ServerUnaryReactor;
  using Context = grpc::CallbackServerContext;

  Reactor* RegisterServer(Context* c, const RegisterRequest* q, RegisterResponse* r) override;
  Reactor* RegisterWorker(Context* c, const RegisterRequest* q, RegisterResponse* r) override;
  Reactor* Heartbeat(Context* c, const HeartbeatRequest* q, HeartbeatResponse* r) override;
  Reactor* SubmitJob(Context* c, const SubmitJobRequest* q, SubmitJobResponse* r) override;
  Reactor* GetJob(Context* c, const GetJobRequest* q, JobStatus* r) override;
  Reactor* ListJobs(Context* c, const ListJobsRequest* q, ListJobsResponse* r) override;
  Reactor* CancelJob(Context* c, const CancelJobRequest* q, JobStatus* r) override;
  Reactor* GetShardMap(Context* c, const GetShardMapRequest* q, ShardMap* r) override;
  Reactor* ReportProgress(Context* c, const ReportProgressRequest* q,
                          ReportProgressResponse* r) override;
  Reactor* GetClusterStatus(Context* c, const GetClusterStatusRequest* q,
                            ClusterStatus* r) override;
  Reactor* FederatedRound(Context* c, const RoundRequest* q, RoundInfo* r) override;
  // Probes servers, which may take up to a probe deadline: on a thread of
  // its own, not on gRPC's.
  Reactor* ReportUnreachable(Context* c, const ReportUnreachableRequest* q,
                             ReportUnreachableResponse* r) override;

 private:
  CoordinatorService* const service_;
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_GRPC_COORDINATOR_SERVICE_H_

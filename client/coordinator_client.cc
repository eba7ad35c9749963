#include "client/coordinator_client.h"

#include "absl/strings/str_cat.h"
#include "common/rpc/grpc_status.h"
#include "proto/coordinator.grpc.pb.h"

namespace petrel {
namespace {

class GrpcCoordinatorClient : public CoordinatorClient {
 public:
  GrpcCoordinatorClient(ChannelFactory& channels, const std::string& address,
                        absl::Duration deadline)
      : address_(address),
        deadline_(deadline),
        stub_(Coordinator::NewStub(channels.Channel(address))) {}

  absl::StatusOr<RegisterResponse> RegisterServer(const RegisterRequest& request) override {
    return Call("RegisterServer", &Coordinator::Stub::RegisterServer, request);
  }
  absl::StatusOr<RegisterResponse> RegisterWorker(const RegisterRequest& request) override {
    return Call("RegisterWorker", &Coordinator::Stub::RegisterWorker, request);
  }
  absl::StatusOr<HeartbeatResponse> Heartbeat(const HeartbeatRequest& request) override {
    return Call("Heartbeat", &Coordinator::Stub::Heartbeat, request);
  }
  absl::StatusOr<SubmitJobResponse> SubmitJob(const SubmitJobRequest& request) override {
    return Call("SubmitJob", &Coordinator::Stub::SubmitJob, request);
  }
  absl::StatusOr<JobStatus> GetJob(const std::string& job_id) override {
    GetJobRequest request;
    request.set_job_id(job_id);
    return Call("GetJob", &Coordinator::Stub::GetJob, request);
  }
  absl::StatusOr<ListJobsResponse> ListJobs() override {
    return Call("ListJobs", &Coordinator::Stub::ListJobs, ListJobsRequest());
  }
  absl::StatusOr<JobStatus> CancelJob(const std::string& job_id) override {
    CancelJobRequest request;
    request.set_job_id(job_id);
    return Call("CancelJob", &Coordinator::Stub::CancelJob, request);
  }
  absl::StatusOr<ShardMap> GetShardMap(const std::string& job_id) override {
    GetShardMapRequest request;
    request.set_job_id(job_id);
    return Call("GetShardMap", &Coordinator::Stub::GetShardMap, request);
  }
  absl::StatusOr<ReportProgressResponse> ReportProgress(
      const ReportProgressRequest& request) override {
    return Call("ReportProgress", &Coordinator::Stub::ReportProgress, request);
  }
  absl::StatusOr<ReportUnreachableResponse> ReportUnreachable(
      const ReportUnreachableRequest& request) override {
    return Call("ReportUnreachable", &Coordinator::Stub::ReportUnreachable, request);
  }
  absl::StatusOr<RoundInfo> FederatedRound(const RoundRequest& request) override {
    return Call("FederatedRound", &Coordinator::Stub::FederatedRound, request);
  }
  absl::StatusOr<ClusterStatus> GetClusterStatus() override {
    return Call("GetClusterStatus", &Coordinator::Stub::GetClusterStatus,
                GetClusterStatusRequest());
  }

 private:
  template <typename Request, typename Response>
  using Method = grpc::Status (Coordinator::Stub::*)(grpc::ClientContext*, const Request&,
                                                     Response*);

  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(const char* name, Method<Request, Response> method,
                                const Request& request) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + deadline_));
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) {
      return FromGrpcStatus(status, absl::StrCat(name, " (coordinator at ", address_, ")"));
    }
    return response;
  }

  const std::string address_;
  const absl::Duration deadline_;
  std::unique_ptr<Coordinator::Stub> stub_;
};

}  // namespace

std::unique_ptr<CoordinatorClient> NewGrpcCoordinatorClient(ChannelFactory& channels,
                                                            const std::string& address,
                                                            absl::Duration deadline) {
  return std::make_unique<GrpcCoordinatorClient>(channels, address, deadline);
}

}  // namespace petrel

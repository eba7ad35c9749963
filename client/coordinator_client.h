// How servers, workers and the CLI talk to the coordinator. The interface
// lets tests drive a component with a fake coordinator.
#ifndef PETREL_CLIENT_COORDINATOR_CLIENT_H_
#define PETREL_CLIENT_COORDINATOR_CLIENT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/rpc/channel_factory.h"
#include "proto/coordinator.pb.h"

namespace petrel {

class CoordinatorClient {
 public:
  virtual ~CoordinatorClient() = default;

  virtual absl::StatusOr<RegisterResponse> RegisterServer(const RegisterRequest& request) = 0;
  virtual absl::StatusOr<RegisterResponse> RegisterWorker(const RegisterRequest& request) = 0;
  virtual absl::StatusOr<HeartbeatResponse> Heartbeat(const HeartbeatRequest& request) = 0;
  virtual absl::StatusOr<SubmitJobResponse> SubmitJob(const SubmitJobRequest& request) = 0;
  virtual absl::StatusOr<JobStatus> GetJob(const std::string& job_id) = 0;
  virtual absl::StatusOr<ListJobsResponse> ListJobs() = 0;
  virtual absl::StatusOr<JobStatus> CancelJob(const std::string& job_id) = 0;
  virtual absl::StatusOr<ShardMap> GetShardMap(const std::string& job_id) = 0;
  virtual absl::StatusOr<ReportProgressResponse> ReportProgress(
      const ReportProgressRequest& request) = 0;
  virtual absl::StatusOr<ClusterStatus> GetClusterStatus() = 0;
  virtual absl::StatusOr<ReportUnreachableResponse> ReportUnreachable(
      const ReportUnreachableRequest& request) = 0;
  virtual absl::StatusOr<RoundInfo> FederatedRound(const RoundRequest& request) {
    return absl::UnimplementedError("this coordinator client has no federated rounds");
  }
};

// A client for the coordinator at `address` (host:port or unix:PATH) over a
// channel from `channels` (not owned; it must outlive the client); every
// call gives up after `deadline`.
std::unique_ptr<CoordinatorClient> NewGrpcCoordinatorClient(
    ChannelFactory& channels, const std::string& address,
    absl::Duration deadline = absl::Seconds(10));

}  // namespace petrel

#endif  // PETREL_CLIENT_COORDINATOR_CLIENT_H_

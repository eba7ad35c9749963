// The coordinator's domain logic on proto types: membership, jobs and
// placement behind one lock. No gRPC here (grpc_coordinator_service.h adapts
// it); a periodic Tick() detects dead nodes and starts queued jobs.
#ifndef PETREL_COORDINATOR_COORDINATOR_SERVICE_H_
#define PETREL_COORDINATOR_COORDINATOR_SERVICE_H_

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/job_manager.h"
#include "coordinator/membership.h"
#include "nlohmann/json.hpp"
#include "proto/coordinator.pb.h"

namespace petrel::coordinator {

class CoordinatorService {
 public:
  struct Options {
    absl::Duration heartbeat_interval = absl::Milliseconds(200);
    // A node silent this long is dead; its running jobs fail.
    absl::Duration heartbeat_timeout = absl::Seconds(10);
  };

  explicit CoordinatorService(Options options) : options_(options) {}

  absl::Status RegisterServer(const RegisterRequest& request, RegisterResponse* response);
  absl::Status RegisterWorker(const RegisterRequest& request, RegisterResponse* response);
  absl::Status Heartbeat(const HeartbeatRequest& request, HeartbeatResponse* response);
  absl::Status SubmitJob(const SubmitJobRequest& request, SubmitJobResponse* response);
  absl::Status GetJob(const GetJobRequest& request, JobStatus* response);
  absl::Status ListJobs(const ListJobsRequest& request, ListJobsResponse* response);
  absl::Status CancelJob(const CancelJobRequest& request, JobStatus* response);
  absl::Status GetShardMap(const GetShardMapRequest& request, ShardMap* response);
  absl::Status ReportProgress(const ReportProgressRequest& request,
                              ReportProgressResponse* response);
  absl::Status GetClusterStatus(const GetClusterStatusRequest& request, ClusterStatus* response);

  // Fails jobs whose nodes died and starts queued jobs that now fit.
  void Tick();

  nlohmann::json StatusJson();

 private:
  absl::Status Register(NodeRole role, const RegisterRequest& request,
                        RegisterResponse* response);
  void TickLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds the host and heartbeat age of each late worker.
  void DescribeLateWorkers(JobStatus* job, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  absl::Mutex mu_;
  Membership membership_ ABSL_GUARDED_BY(mu_);
  JobManager jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_COORDINATOR_SERVICE_H_

// A CoordinatorClient in memory for tests (testonly): it hands out node and
// job ids, answers GetShardMap and GetJob from what the test set, records
// every request, and answers progress reports as a coordinator would (the
// job's state, and how many workers reported finished_training). The next N
// calls can be made to fail. Thread-safe: a trainer, a heartbeat thread
// and the test may call at once.
#ifndef PETREL_CLIENT_FAKE_COORDINATOR_CLIENT_H_
#define PETREL_CLIENT_FAKE_COORDINATOR_CLIENT_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "client/coordinator_client.h"

namespace petrel {

class FakeCoordinatorClient : public CoordinatorClient {
 public:
  // What GetShardMap answers for `job_id` from now on.
  void SetShardMap(const std::string& job_id, ShardMap map);
  // What GetJob (and ListJobs) answer for the job of `job.job_id()`.
  void SetJob(JobStatus job);
  // The state ReportProgress answers with (RUNNING until set).
  void SetJobState(JobState state);
  // What every Heartbeat answers.
  void SetHeartbeatResponse(HeartbeatResponse response);
  void SetClusterStatus(ClusterStatus status);
  // The next `n` calls of any method fail with `status`.
  void FailNextCalls(int n, absl::Status status);

  std::vector<RegisterRequest> registrations() const;
  std::vector<HeartbeatRequest> heartbeats() const;
  std::vector<ReportProgressRequest> progress_reports() const;
  std::vector<ReportUnreachableRequest> unreachable_reports() const;
  std::vector<JobSpec> submitted() const;
  int shard_map_calls() const;

  absl::StatusOr<RegisterResponse> RegisterServer(const RegisterRequest& request) override;
  absl::StatusOr<RegisterResponse> RegisterWorker(const RegisterRequest& request) override;
  absl::StatusOr<HeartbeatResponse> Heartbeat(const HeartbeatRequest& request) override;
  absl::StatusOr<SubmitJobResponse> SubmitJob(const SubmitJobRequest& request) override;
  absl::StatusOr<JobStatus> GetJob(const std::string& job_id) override;
  absl::StatusOr<ListJobsResponse> ListJobs() override;
  absl::StatusOr<JobStatus> CancelJob(const std::string& job_id) override;
  absl::StatusOr<ShardMap> GetShardMap(const std::string& job_id) override;
  absl::StatusOr<ReportProgressResponse> ReportProgress(
      const ReportProgressRequest& request) override;
  absl::StatusOr<ClusterStatus> GetClusterStatus() override;
  absl::StatusOr<ReportUnreachableResponse> ReportUnreachable(
      const ReportUnreachableRequest& request) override;

 private:
  // The injected failure this call takes, or OK.
  absl::Status TakeFailure() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<RegisterResponse> Register(const std::string& prefix,
                                            const RegisterRequest& request);

  mutable absl::Mutex mu_;
  int failures_left_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  int next_node_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, ShardMap> shard_maps_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, JobStatus> jobs_ ABSL_GUARDED_BY(mu_);
  JobState job_state_ ABSL_GUARDED_BY(mu_) = RUNNING;
  HeartbeatResponse heartbeat_response_ ABSL_GUARDED_BY(mu_);
  ClusterStatus cluster_status_ ABSL_GUARDED_BY(mu_);
  std::vector<RegisterRequest> registrations_ ABSL_GUARDED_BY(mu_);
  std::vector<HeartbeatRequest> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::vector<ReportProgressRequest> progress_reports_ ABSL_GUARDED_BY(mu_);
  std::vector<ReportUnreachableRequest> unreachable_reports_ ABSL_GUARDED_BY(mu_);
  std::vector<JobSpec> submitted_ ABSL_GUARDED_BY(mu_);
  // Per job, the workers that reported finished_training.
  std::map<std::string, std::set<std::string>> finished_ ABSL_GUARDED_BY(mu_);
  int shard_map_calls_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace petrel

#endif  // PETREL_CLIENT_FAKE_COORDINATOR_CLIENT_H_

// Jobs from submission to their end, and where each runs.
//
//   QUEUED --(enough idle servers and workers)--> RUNNING
//   RUNNING --(rank 0 reports the final evaluation)--> SUCCEEDED
//   RUNNING --(a worker reports an error, or a node of the job dies)--> FAILED
//   QUEUED | RUNNING --(cancel)--> CANCELLED
//
// Not thread-safe: the CoordinatorService serialises access.
#ifndef PETREL_COORDINATOR_JOB_MANAGER_H_
#define PETREL_COORDINATOR_JOB_MANAGER_H_

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "coordinator/membership.h"
#include "proto/coordinator.pb.h"

namespace petrel::coordinator {

class JobManager {
 public:
  // Validates `spec` and queues it; returns the new job's id.
  absl::StatusOr<std::string> Submit(const JobSpec& spec, absl::Time now);

  // Starts queued jobs, oldest first, while enough alive servers and idle
  // alive workers exist for their cluster shape.
  void Schedule(const std::vector<const Node*>& servers, const std::vector<const Node*>& workers,
                absl::Time now);

  // Fails running jobs that depend on a node not in `alive_ids`.
  void FailJobsOfDeadNodes(const std::set<std::string>& alive_ids, const Membership& membership,
                           absl::Time now);

  // What `node_id` takes part in: for servers, the jobs whose shards it holds
  // (finished ones too, so their parameters can still be read); for workers,
  // their running job.
  std::vector<JobAssignment> AssignmentsFor(const std::string& node_id) const;

  absl::StatusOr<JobStatus> Get(const std::string& job_id, absl::Time now) const;
  std::vector<JobStatus> List(absl::Time now) const;
  absl::StatusOr<JobStatus> Cancel(const std::string& job_id, absl::Time now);
  absl::StatusOr<ShardMap> GetShardMap(const std::string& job_id) const;
  absl::StatusOr<ReportProgressResponse> ReportProgress(const ReportProgressRequest& report,
                                                        absl::Time now);

  // Keeps a server's view of a job's staleness gate; returns the stalled
  // pulls it reports for the first time (to be logged once).
  std::vector<StalledPull> RecordGateReport(const std::string& server_id,
                                            const GateReport& report);

  // Workers silent past the stall timeout while others wait at the end of
  // training, each described once (to be logged).
  std::vector<std::string> NewBarrierStalls(absl::Time now);

 private:
  struct WorkerState {
    ReportProgressRequest last_report;
    absl::Time last_report_time;
  };
  struct Job {
    JobStatus status;  // progress fields are filled in by Snapshot()
    ShardMap shard_map;
    std::vector<std::string> server_ids;
    std::vector<std::string> worker_ids;  // index = rank
    std::map<std::string, WorkerState> workers;
    std::map<std::string, GateReport> gates;  // by server
    std::set<std::string> stalls_seen;        // "worker@clock"
  };

  static bool IsTerminal(JobState state);
  static absl::Duration StallTimeout(const Job& job);
  void Finish(Job& job, JobState state, const std::string& error, absl::Time now);
  JobStatus Snapshot(const Job& job, absl::Time now) const;
  absl::StatusOr<const Job*> FindJob(const std::string& job_id) const;
  absl::StatusOr<Job*> FindJob(const std::string& job_id);
  bool WorkerBusy(const std::string& worker_id) const;

  int next_job_ = 1;
  std::map<std::string, Job> jobs_;
  std::vector<std::string> order_;  // submission order
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_JOB_MANAGER_H_

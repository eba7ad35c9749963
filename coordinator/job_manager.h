// Jobs from submission to their end, where each runs, and how each rides out
// the loss of its nodes.
//
//   Submit(spec) --(valid spec; a resume_from cut that is complete and fits)--> QUEUED
//
//                 Schedule: enough alive servers, and idle
//                 workers that offer the job's cluster.device
//      +--------+ ------------------------------------------> +---------+
//      | QUEUED |                                              | RUNNING |
//      +--------+ <------------------------------------------ +---------+
//        |   |     a shard group loses every replica and the    |  |  |
//        |   |     job has a complete checkpoint (attempt + 1)  |  |  |
//        |   |                                                  |  |  |
//        |   +--(Schedule: PlaceJob fails)--> FAILED <----------+  |  |
//        |        (a worker reports an error; a server's gate report |  |
//        |         carries an error; a group loses every replica with |  |
//        |         no checkpoint, or none that is complete and fits)  |  |
//        |                                                            |  |
//        +--(Cancel)--> CANCELLED <--(Cancel)-------------------------+  |
//                                                                        |
//                       SUCCEEDED <--(a report with `final`: rank 0's ---+
//                                     evaluation after every worker finished)
//
// (while QUEUED, the job's error says what it waits for, e.g. "waiting for
// 2 workers with cuda:0; registered: 2 with cpu only", or which job ahead
// of it does: jobs start in submission order)
//
// SUCCEEDED, FAILED and CANCELLED are terminal. Refused, changing nothing:
//   Submit of an invalid spec or of a resume_from with no complete cut that
//     fits (no id is used up);
//   Cancel of an unknown job (NOT_FOUND) or of one that ended
//     (FAILED_PRECONDITION);
//   ReportProgress from a worker that is not the rank's (PERMISSION_DENIED),
//     from an earlier stint on the rank or a departed one, or of another
//     attempt (FAILED_PRECONDITION); a report to an ended job is answered
//     with its state and changes nothing;
//   GetShardMap of a QUEUED job (UNAVAILABLE: no placement yet).
//
// While RUNNING: a dead server leaves its groups' chains (the next replica
// becomes primary and the shard map's epoch grows); a dead worker's rank
// departs (it leaves the clock set) and goes to the next idle worker that
// offers the job's device, which joins at the job's current clock.
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
  // Validates `spec` (and the checkpoint it resumes from, if any) and queues
  // it; returns the new job's id.
  absl::StatusOr<std::string> Submit(const JobSpec& spec, absl::Time now);

  // Jobs queued or running (not yet ended).
  int ActiveJobs() const;

  // Starts queued jobs, oldest first, while enough alive servers and idle
  // alive workers that offer the job's cluster.device exist for their
  // cluster shape, and gives the departed ranks of running jobs to such
  // idle workers. The first job that cannot start says why in its error,
  // and the later ones that they wait behind it.
  void Schedule(const std::vector<const Node*>& servers, const std::vector<const Node*>& workers,
                absl::Time now);

  // Takes the nodes in `dead` out of the running jobs (see above).
  void HandleDeadNodes(const std::set<std::string>& dead, const Membership& membership,
                       absl::Time now);

  // What `node_id` takes part in: for servers, the jobs whose shards it holds
  // (finished ones too, so their parameters can still be read); for workers,
  // their running job.
  std::vector<JobAssignment> AssignmentsFor(const std::string& node_id) const;
  // The servers of `job_id`'s shard map with their addresses (for probes).
  std::vector<std::pair<std::string, std::string>> ServersOfJob(const std::string& job_id) const;

  absl::StatusOr<JobStatus> Get(const std::string& job_id, absl::Time now) const;
  std::vector<JobStatus> List(absl::Time now) const;
  absl::StatusOr<JobStatus> Cancel(const std::string& job_id, absl::Time now);
  absl::StatusOr<ShardMap> GetShardMap(const std::string& job_id) const;
  absl::StatusOr<ReportProgressResponse> ReportProgress(const ReportProgressRequest& report,
                                                        absl::Time now);

  // Federated jobs (coordinator/federated_rounds.h): the running ones, and
  // the round status their JobStatus shows (kept across restarts when `save`).
  std::vector<std::string> RunningFederatedJobs() const;
  // The job as the state directory keeps it (spec, state, attempt, shard
  // map, worker slots), without building a JobStatus; valid until the next
  // call that changes jobs.
  absl::StatusOr<const JobRecord*> Record(const std::string& job_id) const;
  void SetFederatedStatus(const std::string& job_id, const FederatedStatus& status, bool save);

  // Keeps a server's view of a job's staleness gate; returns the stalled
  // pulls it reports for the first time (to be logged once).
  std::vector<StalledPull> RecordGateReport(const std::string& server_id,
                                            const GateReport& report, absl::Time now);

  // Workers silent past the stall timeout while others wait at the end of
  // training, each described once (to be logged).
  std::vector<std::string> NewBarrierStalls(absl::Time now);

  // The jobs as the state directory keeps them, and back. Restored running
  // jobs go on where they were; the workers report their progress again.
  void Save(CoordinatorState* state) const;
  void Load(const CoordinatorState& state);
  // Whether anything worth saving changed since the last call.
  bool TakeDirty();

 private:
  struct WorkerState {
    ReportProgressRequest last_report;
    absl::Time last_report_time;
  };
  struct Job {
    JobRecord record;  // what survives a coordinator restart
    JobStatus& status() { return *record.mutable_status(); }
    const JobStatus& status() const { return record.status(); }
    std::map<std::string, WorkerState> workers;  // by worker id
    std::map<std::string, GateReport> gates;     // by "server/group"
    std::set<std::string> stalls_seen;           // "worker@clock"
  };

  static bool IsTerminal(JobState state);
  static absl::Duration StallTimeout(const Job& job);
  void Finish(Job& job, JobState state, const std::string& error, absl::Time now);
  // A group lost every replica: back to QUEUED to restore the latest
  // complete checkpoint, or FAILED when there is none.
  void RestartOrFail(Job& job, const std::string& why, absl::Time now);
  // The clock a replacement joins at: the furthest any active worker reported.
  static int64_t CurrentClock(const Job& job);
  bool Finished(const Job& job, const std::string& worker_id) const;
  JobStatus Snapshot(const Job& job, absl::Time now) const;
  absl::StatusOr<const Job*> FindJob(const std::string& job_id) const;
  absl::StatusOr<Job*> FindJob(const std::string& job_id);
  bool WorkerBusy(const std::string& worker_id) const;

  int next_job_ = 1;
  std::map<std::string, Job> jobs_;
  std::vector<std::string> order_;  // submission order
  bool dirty_ = false;
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_JOB_MANAGER_H_

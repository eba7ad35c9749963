// The coordinator's domain logic on proto types: membership, jobs and
// placement behind one lock. No gRPC here (grpc_coordinator_service.h adapts
// it); a periodic Tick() detects dead nodes and starts queued jobs. What it
// calls out to (the liveness probe, CloseRound) comes through Options.
#ifndef PETREL_COORDINATOR_COORDINATOR_SERVICE_H_
#define PETREL_COORDINATOR_COORDINATOR_SERVICE_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "coordinator/federated_rounds.h"
#include "coordinator/job_manager.h"
#include "coordinator/liveness_probe.h"
#include "coordinator/membership.h"
#include "coordinator/round_closer.h"
#include "coordinator/state_store.h"
#include "nlohmann/json.hpp"
#include "proto/coordinator.pb.h"
#include "proto/parameter.pb.h"

namespace petrel {
class SecuredChannelFactory;
}  // namespace petrel

namespace petrel::coordinator {

class CoordinatorService {
 public:
  struct Options {
    absl::Duration heartbeat_interval = absl::Milliseconds(200);
    // A node silent this long is probed; when the probe fails too it is
    // dead, and the jobs it served carry on without it (job_manager.h).
    absl::Duration heartbeat_timeout = absl::Seconds(1);
    // A probe's answer must come within this.
    absl::Duration probe_deadline = absl::Milliseconds(500);
    // Jobs and nodes are kept here across restarts; empty: in memory only.
    std::string state_dir;
    // Jobs queued or running at once; a submission past it is refused with
    // RESOURCE_EXHAUSTED (docs/security.md).
    int max_active_jobs = 64;
    // The daemon's channels, secured as it is: the network probe and
    // CloseRound call over them, and the status URLs it lists take their
    // scheme from its security. Null: plaintext (tests in one process).
    std::shared_ptr<SecuredChannelFactory> channels;
    // Asks silent nodes whether they are there; empty: over the network
    // (NewNetworkLivenessProbe on `channels`).
    std::shared_ptr<LivenessProbe> liveness_probe;
    // Has a server apply a closed federated round; empty: CloseRound over
    // gRPC (NewGrpcRoundCloser on `channels`).
    std::shared_ptr<RoundCloser> round_closer;
  };

  explicit CoordinatorService(Options options);

  // The URL of `path` on a node's status endpoints at `http_address`, with
  // the scheme this cluster's security gives them.
  std::string StatusUrlOf(const std::string& http_address, const std::string& path) const;

  // Reloads the state directory's jobs and nodes (a restart): running jobs
  // go on, and their nodes are given a heartbeat timeout to be heard again.
  absl::Status Restore();

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
  // Probes the job's servers at once (outside the lock) and declares dead
  // those that do not answer.
  absl::Status ReportUnreachable(const ReportUnreachableRequest& request,
                                 ReportUnreachableResponse* response);

  // Federated jobs: a worker's poll (coordinator/federated_rounds.h).
  absl::Status FederatedRound(const RoundRequest& request, RoundInfo* response);

  // Probes silent nodes, takes the dead out of their jobs, starts queued
  // jobs that now fit, and moves federated rounds on.
  void Tick();

  nlohmann::json StatusJson();

 private:
  absl::Status Register(NodeRole role, const RegisterRequest& request,
                        RegisterResponse* response);
  void TickLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Declares `dead` dead and lets the jobs react.
  void DeclareDead(const std::vector<std::string>& dead, const std::string& why, absl::Time now)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The rounds of a federated job, made on first use.
  FederatedRounds& RoundsFor(const JobRecord& job) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Advances every running federated job's rounds and makes the servers
  // apply the rounds that close (the calls run without the lock).
  void DriveRounds();
  // Calls CloseRound on every up-to-date server of every group of the job.
  absl::Status CloseOnServers(CloseRoundRequest close, const ShardMap& map);
  // Writes the state directory when anything changed.
  void SaveIfChanged() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Adds the host and heartbeat age of each late worker.
  void DescribeLateWorkers(JobStatus* job, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Options options_;
  const StateStore store_;
  const std::shared_ptr<LivenessProbe> liveness_probe_;
  const std::shared_ptr<RoundCloser> round_closer_;
  absl::Mutex mu_;
  Membership membership_ ABSL_GUARDED_BY(mu_);
  JobManager jobs_ ABSL_GUARDED_BY(mu_);
  bool nodes_changed_ ABSL_GUARDED_BY(mu_) = false;  // since the last save
  std::map<std::string, std::unique_ptr<FederatedRounds>> rounds_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_COORDINATOR_SERVICE_H_

// petrel-worker as an object: registers with the coordinator (offering the
// devices worker_devices.h allows), and when a job is assigned to it runs a
// Trainer on a thread of its own, on the job's cluster.device, or refuses a
// job whose device it does not offer. Serves /status.
#ifndef PETREL_WORKER_WORKER_DAEMON_H_
#define PETREL_WORKER_WORKER_DAEMON_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/coordinator_client.h"
#include "client/coordinator_session.h"
#include "common/daemon/daemon_options.h"
#include "common/daemon/daemon_util.h"
#include "common/daemon/http_status_server.h"
#include "common/rpc/rpc.h"
#include "kernels/backend.h"
#include "nlohmann/json.hpp"
#include "spdlog/logger.h"
#include "worker/worker_devices.h"

namespace petrel::worker {

class WorkerDaemon {
 public:
  struct Options {
    std::string coordinator_address;
    ListenOptions listen;     // only the HTTP part listens; host names this worker
    // --device: what this worker offers, and what a job's "auto" means here
    // (worker_devices.h).
    std::string device = "auto";
    absl::Duration register_timeout = absl::Seconds(30);
    // How its HTTP pages and its calls to the servers are secured; loaded
    // at Start. Default: plaintext (in-process test clusters).
    TransportSecurity security{"worker"};
    spdlog::sink_ptr log_sink;  // where its log lines go; null: stdout
  };

  // `coordinator`: how to reach the coordinator; null: gRPC to
  // options.coordinator_address (tests pass a fake).
  static absl::StatusOr<std::unique_ptr<WorkerDaemon>> Start(
      Options options, std::unique_ptr<CoordinatorClient> coordinator = nullptr);
  ~WorkerDaemon();  // stops the running job's trainer and leaves the cluster

  DaemonPorts ports() const { return ports_; }
  std::string id() const { return session_ ? session_->node_id() : ""; }
  nlohmann::json StatusJson() const;
  // Its own logger: every line names it ("worker worker-2").
  spdlog::logger& logger() const { return *log_; }
  // Its outbound channels (the PS clients' too), secured as it is.
  SecuredChannelFactory& channels() const { return *channels_; }

 private:
  WorkerDaemon(Options options, std::shared_ptr<spdlog::logger> log,
               std::shared_ptr<SecuredChannelFactory> channels)
      : options_(std::move(options)), log_(std::move(log)), channels_(std::move(channels)) {}

  // Starts a trainer for a newly assigned job; stops one whose job is gone.
  void OnHeartbeat(const HeartbeatResponse& response);
  void StartTrainer(const JobAssignment& assignment);
  // Asks the trainer to stop and joins it; the trainer clears job_id_.
  void StopTrainer();

  const Options options_;
  // First in, last out: everything below may log or call out until it goes.
  const std::shared_ptr<spdlog::logger> log_;
  const std::shared_ptr<SecuredChannelFactory> channels_;
  const absl::Time started_ = absl::Now();
  std::unique_ptr<WorkerDevices> devices_;
  std::unique_ptr<HttpStatusServer> http_;
  std::unique_ptr<CoordinatorClient> coordinator_;
  std::unique_ptr<CoordinatorSession> session_;
  DaemonPorts ports_;

  mutable absl::Mutex mu_;
  std::string job_id_ ABSL_GUARDED_BY(mu_);   // the job being trained, if any
  int attempt_ ABSL_GUARDED_BY(mu_) = 0;      // which attempt of it (restarts)
  int rank_ ABSL_GUARDED_BY(mu_) = -1;
  std::string training_ ABSL_GUARDED_BY(mu_);      // "job#attempt@join" being trained
  std::string last_trained_ ABSL_GUARDED_BY(mu_);  // the last one that ended
  ReportProgressRequest last_report_ ABSL_GUARDED_BY(mu_);
  std::string job_device_ ABSL_GUARDED_BY(mu_);  // the running job's backend, for /status
  std::atomic<bool> stop_trainer_{false};
  std::thread trainer_;
};

}  // namespace petrel::worker

#endif  // PETREL_WORKER_WORKER_DAEMON_H_

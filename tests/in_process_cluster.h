// A whole Petrel cluster inside one test process: a coordinator, servers and
// workers as daemon objects on 127.0.0.1 with OS-chosen ports.
#ifndef PETREL_TESTS_IN_PROCESS_CLUSTER_H_
#define PETREL_TESTS_IN_PROCESS_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/coordinator_client.h"
#include "coordinator/coordinator_daemon.h"
#include "server/server_daemon.h"
#include "worker/worker_daemon.h"

namespace petrel::testing {

class InProcessCluster {
 public:
  struct Options {
    int servers = 2;
    int workers = 2;
    absl::Duration heartbeat_timeout = absl::Seconds(10);
  };

  // Starts every daemon and waits until all have registered.
  static absl::StatusOr<std::unique_ptr<InProcessCluster>> Start(Options options);
  ~InProcessCluster();  // workers, then servers, then the coordinator

  std::string coordinator_address() const { return coordinator_->address(); }
  int coordinator_http_port() const { return coordinator_->ports().http_port; }
  CoordinatorClient& client() { return *client_; }
  server::ServerDaemon& server(int i) { return *servers_[i]; }
  worker::WorkerDaemon& worker(int i) { return *workers_[i]; }

  // Polls the job until it ends or `timeout` passes.
  absl::StatusOr<JobStatus> WaitForJob(const std::string& job_id, absl::Duration timeout);

  // Submits `spec` and waits for the job to end.
  absl::StatusOr<JobStatus> RunJob(const JobSpec& spec, absl::Duration timeout);

 private:
  InProcessCluster() = default;

  std::unique_ptr<coordinator::CoordinatorDaemon> coordinator_;
  std::vector<std::unique_ptr<server::ServerDaemon>> servers_;
  std::vector<std::unique_ptr<worker::WorkerDaemon>> workers_;
  std::unique_ptr<CoordinatorClient> client_;
};

// A job spec for tests: the softmax (no hidden layer) or an MLP on
// Fashion-MNIST, `epochs` passes, batch 64.
JobSpec FashionMnistJob(std::vector<int> hidden, int epochs, int servers, int workers);

}  // namespace petrel::testing

#endif  // PETREL_TESTS_IN_PROCESS_CLUSTER_H_

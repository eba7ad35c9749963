// A whole Petrel cluster inside one test process: a coordinator, servers and
// workers as daemon objects on 127.0.0.1 with OS-chosen ports. Any daemon can
// be killed and restarted, so that fault cases where a process is not the
// point (a replica failover, a coordinator restart) need no shell test.
//
// A kill is as abrupt as one process allows: the daemon is destroyed, so it
// stops heartbeating and its gRPC server shuts down. No daemon says goodbye
// to the coordinator (the protocol has no goodbye), so the coordinator finds
// out as after kill -9: the heartbeat timeout, or a worker's report, then a
// failed probe. Unlike kill -9, calls in flight to a killed server end as in
// a graceful shutdown: pulls waiting at its gate fail UNAVAILABLE, and calls
// it had received but not yet handed to a handler fail CANCELLED
// (grpc/grpc#41785). What only kill -9 shows (a half-written file, signals,
// a connection reset) stays in tests/fault/*.sh.
#ifndef PETREL_TESTS_IN_PROCESS_CLUSTER_H_
#define PETREL_TESTS_IN_PROCESS_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/coordinator_client.h"
#include "common/rpc/rpc.h"
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
    // The coordinator's state directory; empty: in memory only (a
    // restarted coordinator then knows nothing).
    std::string coordinator_state_dir;
    // Secured as a real cluster is (docs/security.md): a fresh CA and a
    // certificate per role (what `petrel certs init` writes), mutual TLS,
    // and a cluster token on every call. False: plaintext, no token.
    bool mutual_tls = false;
  };

  // Starts every daemon and waits until all have registered.
  static absl::StatusOr<std::unique_ptr<InProcessCluster>> Start(Options options);
  ~InProcessCluster();  // workers, then servers, then the coordinator

  // The same across the coordinator's restarts.
  std::string coordinator_address() const { return coordinator_address_; }
  // The coordinator must not be killed.
  int coordinator_http_port() const { return coordinator_->ports().http_port; }
  CoordinatorClient& client() { return *client_; }
  // Channels to the cluster's daemons for a test's own calls, secured as a
  // client of the cluster (plaintext, or TLS with the token).
  ChannelFactory& channels() { return *channels_; }
  // How `role` is secured in this cluster (its TLS files and the token);
  // tests change a copy to make a client the cluster must refuse.
  TransportSecurity SecurityFor(const std::string& role) const;
  // Daemon i; it must not be killed.
  server::ServerDaemon& server(int i) { return *servers_[i]; }
  worker::WorkerDaemon& worker(int i) { return *workers_[i]; }
  coordinator::CoordinatorDaemon& coordinator() { return *coordinator_; }
  bool server_alive(int i) const { return servers_[i] != nullptr; }
  bool worker_alive(int i) const { return workers_[i] != nullptr; }

  // Stops daemon i abruptly (see above); a killed one stays in its slot,
  // empty, until restarted.
  void KillServer(int i);
  void KillWorker(int i);
  // Starts a new daemon in slot i (killing the one there first, if any). It
  // registers as a new node with a new id, as a restarted petrel-server or
  // petrel-worker does: neither keeps anything on disk.
  absl::Status RestartServer(int i);
  absl::Status RestartWorker(int i);

  // The coordinator: killed, and restarted on the same port (the daemons
  // keep dialing it) and state directory, from which it reloads its jobs
  // and nodes; the daemons are heard again under the ids they had.
  void KillCoordinator();
  absl::Status RestartCoordinator();

  // Polls the job until it ends or `timeout` passes.
  absl::StatusOr<JobStatus> WaitForJob(const std::string& job_id, absl::Duration timeout);

  // Submits `spec` and waits for the job to end.
  absl::StatusOr<JobStatus> RunJob(const JobSpec& spec, absl::Duration timeout);
  absl::StatusOr<std::string> SubmitJob(const JobSpec& spec);

  // Polls until some worker of the job has reported clock `clock` (the
  // furthest clock is returned) or `timeout` passes.
  absl::StatusOr<int64_t> WaitForClock(const std::string& job_id, int64_t clock,
                                       absl::Duration timeout);
  // Polls until `nodes` nodes are registered and alive.
  absl::Status WaitForAliveNodes(int nodes, absl::Duration timeout);

 private:
  explicit InProcessCluster(Options options) : options_(std::move(options)) {}
  // Options::mutual_tls: writes the CA and certificates and makes a token.
  absl::Status MakeCredentials();
  absl::Status StartCoordinator(int port);
  absl::StatusOr<std::unique_ptr<server::ServerDaemon>> NewServer() const;
  absl::StatusOr<std::unique_ptr<worker::WorkerDaemon>> NewWorker() const;

  const Options options_;
  std::string coordinator_address_;  // kept across the coordinator's restarts
  int coordinator_port_ = 0;

  std::unique_ptr<coordinator::CoordinatorDaemon> coordinator_;
  std::vector<std::unique_ptr<server::ServerDaemon>> servers_;
  std::vector<std::unique_ptr<worker::WorkerDaemon>> workers_;
  // Options::mutual_tls: the CA's folder (removed with the cluster), the token.
  std::string tls_dir_;
  std::string token_;
  // The tests' own channels to the cluster, secured as SecurityFor("client").
  std::shared_ptr<SecuredChannelFactory> channels_;
  std::unique_ptr<CoordinatorClient> client_;
};

// A job spec for tests: the softmax (no hidden layer) or an MLP on
// Fashion-MNIST, `epochs` passes, batch 64.
JobSpec FashionMnistJob(std::vector<int> hidden, int epochs, int servers, int workers);

}  // namespace petrel::testing

#endif  // PETREL_TESTS_IN_PROCESS_CLUSTER_H_

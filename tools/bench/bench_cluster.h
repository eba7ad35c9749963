// A real Petrel cluster for benchmarks: petrel-coordinator and N
// petrel-server processes on 127.0.0.1 (tools/cli's LocalCluster), with the
// benchmark itself registered as the job's one worker, so that it drives the
// servers through the same PsClient the trainer uses.
#ifndef PETREL_TOOLS_BENCH_BENCH_CLUSTER_H_
#define PETREL_TOOLS_BENCH_BENCH_CLUSTER_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "client/coordinator_client.h"
#include "client/coordinator_session.h"
#include "tools/cli/local_cluster.h"
#include "client/ps_client.h"

namespace petrel::bench {

class BenchCluster {
 public:
  // Starts the daemons, talking over `transport`, and registers this
  // process as a worker.
  static absl::StatusOr<std::unique_ptr<BenchCluster>> Start(
      int servers, cli::LocalTransport transport = cli::LocalTransport::kUnixSockets);
  ~BenchCluster();

  // Submits `spec` (cluster.servers and workers are set here), waits until the
  // job is placed, and returns a client for it acting as the job's worker.
  // `options` gives the chunking; the job and worker ids are filled in here,
  // and the channels, when it gives none, are the cluster's.
  absl::StatusOr<std::unique_ptr<worker::PsClient>> StartJob(
      JobSpec spec, worker::PsClientOptions options = {});

  // Ends the current job: leaves its clock set and cancels it.
  void EndJob(worker::PsClient* client);

 private:
  BenchCluster() = default;

  int servers_ = 0;
  std::unique_ptr<cli::LocalCluster> cluster_;
  std::unique_ptr<CoordinatorClient> coordinator_;
  std::unique_ptr<CoordinatorSession> session_;
  std::string job_id_;

  absl::Mutex mu_;
  JobAssignment assignment_ ABSL_GUARDED_BY(mu_);  // the latest RUNNING job
};

// Job specs whose tables have the sizes the cases need. The data files are
// never read (no worker trains); they only have to pass the job's checks.
// `scratch_dir` receives the small libsvm files the sparse job names.
JobSpec DenseTableJob(int64_t floats, const std::string& optimizer);  // softmax, 10 classes
JobSpec MlpJob();                                                     // Fashion-MNIST's MLP
absl::StatusOr<JobSpec> SparseJob(const std::string& scratch_dir);

}  // namespace petrel::bench

#endif  // PETREL_TOOLS_BENCH_BENCH_CLUSTER_H_

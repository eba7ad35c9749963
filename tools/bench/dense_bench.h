// One dense table of N floats (a softmax with N/10 inputs, plus its 10
// biases) on a BenchCluster of its own, pushed and pulled whole: the
// dense_push and dense_pull cases, which --check and --tls_cost repeat as
// attempts on the same cluster.
#ifndef PETREL_TOOLS_BENCH_DENSE_BENCH_H_
#define PETREL_TOOLS_BENCH_DENSE_BENCH_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tools/bench/apply_cases.h"
#include "tools/bench/bench_cluster.h"
#include "tools/cli/local_cluster.h"
#include "client/ps_client.h"

namespace petrel::bench {

// "unix", "tls", "plaintext": the names `petrel local --transport` takes.
std::string TransportName(cli::LocalTransport transport);
absl::StatusOr<cli::LocalTransport> ParseTransport(const std::string& name);

class DenseBench {
 public:
  // Starts `servers` servers over `transport`, submits the job and pushes
  // and pulls once untimed (sizing the buffers, warming the connections).
  // `floats` is a positive multiple of 10.
  static absl::StatusOr<std::unique_ptr<DenseBench>> Start(int servers, int64_t floats,
                                                           cli::LocalTransport transport,
                                                           const worker::PsClientOptions& options);
  ~DenseBench();  // ends the job, stops the cluster

  // `rounds` timed pushes (pulls) of the whole table: "dense_push_<size>_s<N>"
  // ("dense_pull_..."). Each push is a new clock.
  absl::StatusOr<CaseResult> Push(int rounds);
  absl::StatusOr<CaseResult> Pull(int rounds);

  // The bytes one push or pull moves: the table and its biases, as float32.
  double bytes_per_round() const { return 4.0 * floats_; }

 private:
  DenseBench() = default;

  std::string suffix_;  // "_1e7_s2"
  double floats_ = 0;
  int64_t clock_ = 0;   // the latest clock pushed
  std::unique_ptr<BenchCluster> cluster_;
  std::unique_ptr<worker::PsClient> ps_;
  std::vector<std::vector<float>> tables_;
  std::vector<std::vector<float>> gradients_;
};

// The better of two results of one case (the higher rate); `best` empty
// (bytes_per_s 0) takes `candidate`.
void KeepBest(const CaseResult& candidate, CaseResult* best);

}  // namespace petrel::bench

#endif  // PETREL_TOOLS_BENCH_DENSE_BENCH_H_

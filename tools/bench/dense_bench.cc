#include "tools/bench/dense_bench.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "tools/bench/timed.h"

namespace petrel::bench {

std::string TransportName(cli::LocalTransport transport) {
  switch (transport) {
    case cli::LocalTransport::kUnixSockets:
      return "unix";
    case cli::LocalTransport::kTls:
      return "tls";
    case cli::LocalTransport::kPlaintext:
      return "plaintext";
  }
  return "unknown";
}

absl::StatusOr<cli::LocalTransport> ParseTransport(const std::string& name) {
  for (cli::LocalTransport transport :
       {cli::LocalTransport::kUnixSockets, cli::LocalTransport::kTls,
        cli::LocalTransport::kPlaintext}) {
    if (name == TransportName(transport)) return transport;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--transport must be unix, tls or plaintext, not \"", name, "\""));
}

absl::StatusOr<std::unique_ptr<DenseBench>> DenseBench::Start(
    int servers, int64_t floats, cli::LocalTransport transport,
    const worker::PsClientOptions& options) {
  if (floats < 10 || floats % 10 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a dense table's floats must be a positive multiple of 10, not ", floats));
  }
  auto bench = std::unique_ptr<DenseBench>(new DenseBench());
  bench->suffix_ = absl::StrCat("_", SizeTag(floats), "_s", servers);
  bench->floats_ = floats + 10;  // the table and its bias
  PETREL_ASSIGN_OR_RETURN(bench->cluster_, BenchCluster::Start(servers, transport));
  PETREL_ASSIGN_OR_RETURN(bench->ps_,
                          bench->cluster_->StartJob(DenseTableJob(floats, "sgd"), options));
  PETREL_RETURN_IF_ERROR(bench->ps_->Pull(0, &bench->tables_));
  bench->gradients_ = bench->tables_;
  for (auto& g : bench->gradients_) std::fill(g.begin(), g.end(), 1e-3f);
  PETREL_RETURN_IF_ERROR(bench->ps_->Push(0, bench->gradients_));
  return bench;
}

DenseBench::~DenseBench() {
  if (ps_) cluster_->EndJob(ps_.get());
}

absl::StatusOr<CaseResult> DenseBench::Push(int rounds) {
  return Timed("dense_push" + suffix_, rounds, bytes_per_round(), floats_,
               [&](int) { return ps_->Push(++clock_, gradients_); });
}

absl::StatusOr<CaseResult> DenseBench::Pull(int rounds) {
  // The latest pushed clock: the job's staleness is unbounded, so no pull
  // waits, and each reads the whole table.
  return Timed("dense_pull" + suffix_, rounds, bytes_per_round(), floats_,
               [&](int) { return ps_->Pull(clock_, &tables_); });
}

void KeepBest(const CaseResult& candidate, CaseResult* best) {
  if (candidate.bytes_per_s > best->bytes_per_s) *best = candidate;
}

}  // namespace petrel::bench

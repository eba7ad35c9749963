// The data path's guard (bench_pushpull --check) and the price of TLS
// (--tls_cost): the dense 10^7 cases only, each the best of a few attempts on
// one cluster, against yardsticks measured between the attempts.
//
// Why best of N: on a shared 2-core machine a case's figure is a lower bound
// of what the code can do, dragged down by whatever else ran at that moment;
// the best of three is the least disturbed, and so is each yardstick's, so a
// ratio of bests moves with the code more than with the neighbours.
#ifndef PETREL_TOOLS_BENCH_GUARD_H_
#define PETREL_TOOLS_BENCH_GUARD_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "tools/cli/local_cluster.h"
#include "client/ps_client.h"

namespace petrel::bench {

struct GuardOptions {
  int64_t dense_floats = 10'000'000;
  int rounds = 10;    // timed rounds per attempt
  int attempts = 3;   // per case; the best counts
  // --check: a case below this fraction of raw TCP fails.
  double min_ratio = 0.45;
  // --check's transport; --tls_cost always runs kTls and kPlaintext.
  cli::LocalTransport transport = cli::LocalTransport::kUnixSockets;
  worker::PsClientOptions client;
  std::string json_path;  // empty: no JSON
};

// Checks the options (InvalidArgument naming the flag, before anything runs).
absl::Status ValidateGuardOptions(const GuardOptions& options);

// dense_push/pull_<size>_s1 and _s2 over options.transport, with raw TCP and
// raw Unix sockets measured in each attempt. Prints one line per case and a
// verdict naming every case below min_ratio of raw TCP. Returns whether all
// passed; an error when a cluster or yardstick could not run.
absl::StatusOr<bool> RunCheck(const GuardOptions& options);

// The same cases over kPlaintext, then over kTls (in that order: this
// process's transport security is process-wide, and TLS leaves it set),
// then seconds per GB for each and the difference: what TLS costs per GB on
// TCP. Run it in a process that has started no TLS cluster before.
absl::Status RunTlsCost(const GuardOptions& options);

}  // namespace petrel::bench

#endif  // PETREL_TOOLS_BENCH_GUARD_H_

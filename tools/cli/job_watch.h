// Following a job until it ends: a live progress line, then a summary for
// people and, optionally, for scripts (--summary-json).
#ifndef PETREL_TOOLS_CLI_JOB_WATCH_H_
#define PETREL_TOOLS_CLI_JOB_WATCH_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/coordinator_client.h"
#include "nlohmann/json.hpp"
#include "proto/coordinator.pb.h"

namespace petrel::cli {

struct WatchOptions {
  // Polled between updates; a message ends the watch with that error (a
  // local child died, Ctrl-C...).
  std::function<std::optional<std::string>()> interrupted = [] { return std::nullopt; };
};

// Polls the job until it reaches a terminal state and returns its last status.
absl::StatusOr<JobStatus> WatchJob(CoordinatorClient* coordinator, const std::string& job_id,
                                   const WatchOptions& options);

// One line of progress: epoch, step, loss, accuracy, samples/s.
std::string ProgressLine(const JobStatus& job);

// mode: ensemble, once an evaluation reported the members' accuracies:
// "ensemble of 3: test accuracy 0.8571 (members 0.8402 0.8433 0.8391; best
// 0.8433)". Empty for other jobs.
std::string EnsembleLine(const JobStatus& job);

// Federated jobs: what the rounds did (rounds applied and abandoned, workers
// dropped, the DP epsilon spent); "" for other modes. ProgressLine shows
// their progress in rounds.
std::string FederatedLine(const JobStatus& job);

// The summary object of --summary-json. `wall_seconds` is the whole run.
nlohmann::json SummaryJson(const JobStatus& job, double wall_seconds);

// The first time (seconds since the job started) rank 0's test accuracy
// reached `target`, if it did.
std::optional<double> SecondsToAccuracy(const JobStatus& job, double target);

}  // namespace petrel::cli

#endif  // PETREL_TOOLS_CLI_JOB_WATCH_H_

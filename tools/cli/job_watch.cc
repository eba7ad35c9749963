#include "tools/cli/job_watch.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace petrel::cli {
namespace {

bool IsTerminal(JobState state) {
  return state == SUCCEEDED || state == FAILED || state == CANCELLED;
}

// Total examples the workers trained on, per the last reports.
double SamplesTrained(const JobStatus& job) {
  double steps = 0;
  for (const WorkerProgress& worker : job.workers()) steps += worker.step();
  return steps * job.spec().training().batch_size();
}

// A progress bar of 24 characters, '#' for the part done.
std::string Bar(double fraction) {
  const int width = 24;
  const int filled = static_cast<int>(fraction * width);
  return std::string(filled, '#') + std::string(width - filled, '.');
}

std::string AccuracyText(const JobStatus& job) {
  return job.has_test_accuracy() ? absl::StrFormat("%.4f", job.test_accuracy()) : "  -   ";
}

// A federated job's progress is in rounds applied.
std::string FederatedProgressLine(const JobStatus& job) {
  const int64_t rounds = job.spec().federated().rounds();
  const int64_t done = job.federated().rounds_completed();
  const double fraction = rounds > 0 ? std::min(1.0, static_cast<double>(done) / rounds) : 0.0;
  const std::string bar = Bar(fraction);
  const std::string accuracy = AccuracyText(job);
  return absl::StrFormat("%s [%s] %3.0f%%  round %d/%d  loss %.4f  test acc %s", job.job_id(), bar,
                         fraction * 100, done, rounds, job.train_loss(), accuracy);
}

}  // namespace

std::string ProgressLine(const JobStatus& job) {
  if (job.steps_per_epoch() == 0 && job.state() == RUNNING) {
    return absl::StrFormat("%s running: waiting for the workers' first reports", job.job_id());
  }
  if (job.spec().mode() == "federated") return FederatedProgressLine(job);
  const int epochs = job.spec().training().epochs();
  int64_t step = 0;
  for (const WorkerProgress& worker : job.workers()) step = std::max(step, worker.step());
  const int64_t total = job.steps_per_epoch() * epochs;
  const double fraction = total > 0 ? std::min(1.0, static_cast<double>(step) / total) : 0.0;
  const std::string bar = Bar(fraction);
  const std::string accuracy = AccuracyText(job);
  return absl::StrFormat("%s [%s] %3.0f%%  epoch %d/%d  step %d/%d  loss %.4f  test acc %s  %.0f samples/s",
                         job.job_id(), bar, fraction * 100, std::min(job.epoch() + 1, epochs),
                         epochs, step, total, job.train_loss(), accuracy,
                         job.samples_per_second());
}

std::string FederatedLine(const JobStatus& job) {
  if (job.spec().mode() != "federated") return "";
  const FederatedSpec& spec = job.spec().federated();
  const FederatedStatus& rounds = job.federated();
  std::string line = absl::StrFormat(
      "federated: %d of %d rounds applied (%d abandoned), E = %d, client fraction %g, "
      "%d workers dropped%s",
      rounds.rounds_completed(), spec.rounds(), rounds.rounds_abandoned(), spec.local_epochs(),
      spec.client_fraction(), rounds.workers_dropped(),
      spec.secure_aggregation() ? ", secure aggregation" : "");
  if (job.spec().has_dp()) {
    absl::StrAppendFormat(&line, "; DP (clip %g, noise %g): epsilon %.3f at delta %g",
                          job.spec().dp().clip_norm(), job.spec().dp().noise_multiplier(),
                          rounds.dp_epsilon(), job.spec().dp().delta());
  }
  return line;
}

std::string EnsembleLine(const JobStatus& job) {
  if (job.member_accuracies_size() == 0 || !job.has_test_accuracy()) return "";
  std::string members;
  float best = 0;
  for (float accuracy : job.member_accuracies()) {
    absl::StrAppendFormat(&members, "%s%.4f", members.empty() ? "" : " ", accuracy);
    best = std::max(best, accuracy);
  }
  return absl::StrFormat("ensemble of %d: test accuracy %.4f (members %s; best %.4f)",
                         job.member_accuracies_size(), job.test_accuracy(), members, best);
}

absl::StatusOr<JobStatus> WatchJob(CoordinatorClient* coordinator, const std::string& job_id,
                                   const WatchOptions& options) {
  const bool tty = isatty(STDERR_FILENO);
  absl::Time last_line = absl::InfinitePast();
  while (true) {
    if (auto reason = options.interrupted()) {
      if (tty) std::fprintf(stderr, "\n");
      return absl::AbortedError(*reason);
    }
    auto job = coordinator->GetJob(job_id);
    if (!job.ok()) return job.status();
    if (job->state() == RUNNING || IsTerminal(job->state())) {
      // On a terminal the line redraws in place; in a log, one line every 5 s.
      if (tty) {
        std::fprintf(stderr, "\r%s\033[K", ProgressLine(*job).c_str());
      } else if (absl::Now() - last_line >= absl::Seconds(5) || IsTerminal(job->state())) {
        std::fprintf(stderr, "%s\n", ProgressLine(*job).c_str());
        last_line = absl::Now();
      }
    }
    if (IsTerminal(job->state())) {
      if (tty) std::fprintf(stderr, "\n");
      return *job;
    }
    absl::SleepFor(absl::Milliseconds(250));
  }
}

std::optional<double> SecondsToAccuracy(const JobStatus& job, double target) {
  for (const AccuracyPoint& point : job.accuracy_history()) {
    if (point.test_accuracy() >= target) return point.seconds();
  }
  return std::nullopt;
}

nlohmann::json SummaryJson(const JobStatus& job, double wall_seconds) {
  const double training_seconds = job.finished_unix() - job.started_unix();
  nlohmann::json history = nlohmann::json::array();
  for (const AccuracyPoint& point : job.accuracy_history()) {
    history.push_back({{"seconds", point.seconds()},
                       {"step", point.step()},
                       {"test_accuracy", point.test_accuracy()}});
  }
  nlohmann::json summary = {
      {"job", job.job_id()},
      {"name", job.name()},
      {"state", JobState_Name(job.state())},
      {"test_accuracy", job.has_test_accuracy() ? nlohmann::json(job.test_accuracy()) : nullptr},
      {"train_loss", job.train_loss()},
      {"epochs", job.spec().training().epochs()},
      {"batch_size", job.spec().training().batch_size()},
      {"samples_per_second",
       training_seconds > 0 ? SamplesTrained(job) / training_seconds : 0.0},
      {"training_seconds", training_seconds},
      {"wall_seconds", wall_seconds},
      {"servers", job.spec().cluster().servers()},
      {"workers", job.spec().cluster().workers()},
      {"accuracy_history", history}};
  if (job.spec().mode() == "federated") {
    const FederatedStatus& rounds = job.federated();
    summary["federated"] = {{"rounds_completed", rounds.rounds_completed()},
                            {"rounds_abandoned", rounds.rounds_abandoned()},
                            {"workers_dropped", rounds.workers_dropped()},
                            {"dp_epsilon", rounds.dp_epsilon()},
                            {"dp_delta", rounds.dp_delta()}};
  }
  for (double target : {0.85, 0.87}) {
    if (auto seconds = SecondsToAccuracy(job, target)) {
      summary[absl::StrFormat("seconds_to_%.2f", target)] = *seconds;
    }
  }
  double pull_seconds = 0, train_seconds = 0;
  for (const WorkerProgress& worker : job.workers()) {
    pull_seconds += worker.pull_seconds();
    train_seconds += worker.train_seconds();
  }
  summary["staleness"] = job.spec().training().staleness();  // -1: async
  summary["max_observed_staleness"] = job.max_observed_staleness();
  summary["pulls_waited"] = job.pulls_waited();
  summary["pull_wait_fraction"] = train_seconds > 0 ? pull_seconds / train_seconds : 0.0;
  if (job.member_accuracies_size() > 0) {
    // mode: ensemble: test_accuracy is the averaged probabilities'.
    summary["member_accuracies"] = std::vector<float>(job.member_accuracies().begin(),
                                                      job.member_accuracies().end());
  }
  if (!job.error().empty()) summary["error"] = job.error();
  return summary;
}

}  // namespace petrel::cli

// A trainer's line to the coordinator: its progress reports, sent so that a
// coordinator that cannot be reached (it may be restarting) does not stop
// training, and the end of training, which must get through. Shared by the
// synchronous and the federated trainer.
#ifndef PETREL_WORKER_PROGRESS_REPORTER_H_
#define PETREL_WORKER_PROGRESS_REPORTER_H_

#include <functional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "proto/coordinator.pb.h"
#include "worker/trainer_context.h"

namespace petrel::worker {

// How long a call that must get through waits for a coordinator that cannot
// be reached (it may be restarting).
inline constexpr absl::Duration kCoordinatorPatience = absl::Minutes(10);

// UNAVAILABLE or DEADLINE_EXCEEDED: the coordinator did not answer, which
// is worth waiting out.
bool CoordinatorAway(const absl::Status& status);

// Calls `call` until it gets an answer other than CoordinatorAway, for up to
// kCoordinatorPatience, retrying every 200 ms; CANCELLED once
// `stop_requested`.
template <typename T>
absl::StatusOr<T> CallPatiently(const std::function<absl::StatusOr<T>()>& call,
                                const std::function<bool()>& stop_requested) {
  const absl::Time give_up = absl::Now() + kCoordinatorPatience;
  while (true) {
    absl::StatusOr<T> answer = call();
    if (!CoordinatorAway(answer.status()) || absl::Now() >= give_up) return answer;
    if (stop_requested()) return absl::CancelledError("worker stopping");
    absl::SleepFor(absl::Milliseconds(200));
  }
}

class ProgressReporter {
 public:
  // The report starts with the trainer's identity: job, worker, rank,
  // attempt and the join clock of this stint on the rank. `context` must
  // outlive the reporter.
  explicit ProgressReporter(const TrainerContext* context);

  ReportProgressRequest& report() { return report_; }

  // Sends report() after showing it to context.on_report; clears the test
  // accuracy once delivered. A transient failure (UNAVAILABLE,
  // DEADLINE_EXCEEDED) drops the report, or, when `must_arrive`, retries it
  // for up to 10 minutes.
  absl::StatusOr<ReportProgressResponse> Send(bool must_arrive);

  // Send for a report during training: OK when delivered or dropped,
  // CANCELLED once the job is no longer RUNNING.
  absl::Status SendDuringTraining();

  // The end of training: reports finished_training; rank 0 then waits until
  // all `num_workers` have finished, lets `evaluate` fill in the final
  // evaluation, and reports it as final.
  absl::Status Finish(int num_workers, const std::function<absl::Status()>& evaluate);

  // Reports this worker's failure, which fails the job. CANCELLED (told to
  // stop) and ABORTED (the job ended elsewhere) are not failures.
  void ReportFailure(const absl::Status& status);

 private:
  const TrainerContext* const context_;
  ReportProgressRequest report_;
  bool coordinator_lost_ = false;
};

}  // namespace petrel::worker

#endif  // PETREL_WORKER_PROGRESS_REPORTER_H_

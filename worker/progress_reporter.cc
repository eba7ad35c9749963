#include "worker/progress_reporter.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace petrel::worker {
bool CoordinatorAway(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

ProgressReporter::ProgressReporter(const TrainerContext* context) : context_(context) {
  const JobAssignment& job = context->assignment;
  report_.set_job_id(job.job_id());
  report_.set_worker_id(context->worker_id);
  report_.set_rank(job.rank());
  report_.set_attempt(job.attempt());
  report_.set_join_clock(job.rank() < job.workers_size() ? job.workers(job.rank()).join_clock()
                                                         : 0);
}

absl::StatusOr<ReportProgressResponse> ProgressReporter::Send(bool must_arrive) {
  context_->on_report(report_);
  // Each attempt logs the coordinator going away and coming back, once.
  const std::function<absl::StatusOr<ReportProgressResponse>()> attempt = [this] {
    absl::StatusOr<ReportProgressResponse> response =
        context_->coordinator->ReportProgress(report_);
    const bool away = CoordinatorAway(response.status());
    if (away && !coordinator_lost_) {
      spdlog::warn("progress report not delivered ({}); training goes on",
                   response.status().ToString());
    }
    if (!away && coordinator_lost_) spdlog::info("the coordinator answers again");
    coordinator_lost_ = away;
    return response;
  };
  absl::StatusOr<ReportProgressResponse> response =
      must_arrive ? CallPatiently(attempt, context_->stop_requested) : attempt();
  if (response.ok()) report_.set_has_test_accuracy(false);
  return response;
}

absl::Status ProgressReporter::SendDuringTraining() {
  absl::StatusOr<ReportProgressResponse> response = Send(/*must_arrive=*/false);
  if (!response.ok() && coordinator_lost_) return absl::OkStatus();  // dropped
  PETREL_RETURN_IF_ERROR(response.status());
  if (response->state() != RUNNING) {
    return absl::CancelledError(
        absl::StrCat("job ", report_.job_id(), " is ", JobState_Name(response->state())));
  }
  return absl::OkStatus();
}

absl::Status ProgressReporter::Finish(int num_workers,
                                      const std::function<absl::Status()>& evaluate) {
  report_.set_finished_training(true);
  PETREL_ASSIGN_OR_RETURN(ReportProgressResponse response, Send(/*must_arrive=*/true));
  if (report_.rank() != 0) return absl::OkStatus();
  while (true) {
    if (response.state() != RUNNING) {
      return absl::CancelledError(absl::StrCat("job is ", JobState_Name(response.state())));
    }
    if (response.workers_finished() >= num_workers) break;
    if (context_->stop_requested()) return absl::CancelledError("worker stopping");
    absl::SleepFor(absl::Milliseconds(100));
    PETREL_ASSIGN_OR_RETURN(response, Send(/*must_arrive=*/true));
  }
  PETREL_RETURN_IF_ERROR(evaluate());
  spdlog::info("job {}: final test accuracy {:.4f}", report_.job_id(), report_.test_accuracy());
  report_.set_final(true);
  return Send(/*must_arrive=*/true).status();
}

void ProgressReporter::ReportFailure(const absl::Status& status) {
  if (status.ok() || absl::IsCancelled(status) || absl::IsAborted(status)) return;
  spdlog::error("job {} failed: {}", report_.job_id(), status.ToString());
  ReportProgressRequest failure;
  failure.set_job_id(report_.job_id());
  failure.set_worker_id(report_.worker_id());
  failure.set_rank(report_.rank());
  failure.set_attempt(report_.attempt());
  failure.set_join_clock(report_.join_clock());
  failure.set_error(status.ToString());
  auto reported = context_->coordinator->ReportProgress(failure);
  if (!reported.ok()) spdlog::warn("could not report the failure: {}", reported.status().ToString());
}

}  // namespace petrel::worker

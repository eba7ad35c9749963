#include "worker/trainer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "worker/data/dataset.h"
#include "worker/step_model.h"

namespace petrel::worker {
namespace {

// How often progress goes to the coordinator.
constexpr absl::Duration kReportInterval = absl::Milliseconds(500);
// How long a report that must arrive (the end of training) waits for a
// coordinator that cannot be reached.
constexpr absl::Duration kCoordinatorPatience = absl::Minutes(10);

// Loss and throughput over the steps since the last report.
class ProgressWindow {
 public:
  void Add(double loss, int samples) {
    loss_sum_ += loss;
    steps_ += 1;
    samples_ += samples;
  }
  bool Due() const { return absl::Now() - start_ >= kReportInterval; }
  void Fill(ReportProgressRequest* report) {
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start_);
    if (steps_ > 0) report->set_train_loss(loss_sum_ / steps_);
    if (seconds > 0) report->set_samples_per_second(samples_ / seconds);
    loss_sum_ = 0;
    steps_ = 0;
    samples_ = 0;
    start_ = absl::Now();
  }

 private:
  absl::Time start_ = absl::Now();
  double loss_sum_ = 0;
  int64_t steps_ = 0;
  int64_t samples_ = 0;
};

// Counts the time spent in pulls, waiting on the staleness gate included.
class TimedPsClient : public PsClient {
 public:
  explicit TimedPsClient(PsClient* inner) : inner_(inner) {}
  absl::Duration pulling() const { return pulling_; }

  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                    SparseStep* sparse) override {
    const absl::Time start = absl::Now();
    absl::Status status = inner_->Pull(clock, tables, sparse);
    pulling_ += absl::Now() - start;
    return status;
  }
  absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                    const SparseStep* sparse) override {
    return inner_->Push(clock, gradients, sparse);
  }
  absl::Status Leave(int64_t clock) override { return inner_->Leave(clock); }

 private:
  PsClient* const inner_;
  absl::Duration pulling_;
};

}  // namespace

absl::Status Trainer::Run() {
  absl::Status status = Train();
  // CANCELLED: this worker was told to stop; ABORTED: the servers closed the
  // job (cancelled or failed elsewhere). Neither is this worker's failure.
  if (!status.ok() && !absl::IsCancelled(status) && !absl::IsAborted(status)) {
    spdlog::error("job {} failed: {}", context_.assignment.job_id(), status.ToString());
    ReportProgressRequest report;
    report.set_job_id(context_.assignment.job_id());
    report.set_worker_id(context_.worker_id);
    report.set_rank(context_.assignment.rank());
    report.set_attempt(context_.assignment.attempt());
    const JobAssignment& job = context_.assignment;
    report.set_join_clock(job.rank() < job.workers_size() ? job.workers(job.rank()).join_clock() : 0);
    report.set_error(status.ToString());
    auto reported = context_.coordinator->ReportProgress(report);
    if (!reported.ok()) spdlog::warn("could not report the failure: {}", reported.status().ToString());
  }
  return status;
}

absl::Status Trainer::Train() {
  const JobAssignment& job = context_.assignment;
  const JobSpec& spec = job.spec();
  const int rank = job.rank();
  const int batch = spec.training().batch_size();

  PETREL_RETURN_IF_ERROR(context_.backend->SetAllowTf32(spec.training().allow_tf32()));
  // Pull time (waiting on the staleness gate included) for the reports.
  TimedPsClient ps(context_.ps);
  PETREL_ASSIGN_OR_RETURN(std::unique_ptr<StepModel> model,
                          CreateStepModel(job, context_.backend, &ps));
  const int64_t steps_per_epoch = model->num_examples() / batch;
  if (steps_per_epoch == 0) {
    return absl::InvalidArgumentError(absl::StrCat("training.batch_size ", batch,
                                                   " is larger than this worker's shard of ",
                                                   model->num_examples(), " examples"));
  }
  spdlog::info("job {}: rank {} of {}, {} steps per epoch, {} epochs; {}", job.job_id(), rank,
               job.num_workers(), steps_per_epoch, spec.training().epochs(), model->Describe());

  ReportProgressRequest report;
  report.set_job_id(job.job_id());
  report.set_worker_id(context_.worker_id);
  report.set_rank(rank);
  report.set_attempt(job.attempt());
  report.set_steps_per_epoch(steps_per_epoch);
  ProgressWindow window;
  int64_t clock = 0;
  const absl::Time started = absl::Now();

  // Sends `report` and clears its one-shot fields; stops the loop when the
  // job is no longer running. A coordinator that cannot be reached (it may be
  // restarting) does not stop training: the report is dropped, or, when
  // `must_arrive`, retried until it gets through.
  bool coordinator_lost = false;
  auto send = [&](bool must_arrive) -> absl::StatusOr<ReportProgressResponse> {
    const absl::Time give_up = absl::Now() + kCoordinatorPatience;
    while (true) {
      absl::StatusOr<ReportProgressResponse> response = context_.coordinator->ReportProgress(report);
      const bool transient = absl::IsUnavailable(response.status()) ||
                             absl::IsDeadlineExceeded(response.status());
      if (!transient) {
        if (coordinator_lost) spdlog::info("the coordinator answers again");
        coordinator_lost = false;
        return response;
      }
      if (!coordinator_lost) {
        spdlog::warn("progress report not delivered ({}); training goes on",
                     response.status().ToString());
      }
      coordinator_lost = true;
      if (!must_arrive || absl::Now() >= give_up) return response;
      if (context_.stop_requested()) return absl::CancelledError("worker stopping");
      absl::SleepFor(absl::Milliseconds(200));
    }
  };
  // Rank 0's evaluation, with an ensemble's members' own accuracies.
  auto set_accuracy = [&](double accuracy) {
    report.set_has_test_accuracy(true);
    report.set_test_accuracy(accuracy);
    report.clear_member_accuracies();
    for (double member : model->MemberAccuracies()) report.add_member_accuracies(member);
  };
  auto send_report = [&](bool must_arrive = false) -> absl::Status {
    report.set_clock(clock);
    report.set_step(clock);
    report.set_pull_seconds(absl::ToDoubleSeconds(ps.pulling()));
    report.set_train_seconds(absl::ToDoubleSeconds(absl::Now() - started));
    window.Fill(&report);
    context_.on_report(report);
    absl::StatusOr<ReportProgressResponse> response = send(must_arrive);
    if (!response.ok() && !must_arrive && coordinator_lost) return absl::OkStatus();
    PETREL_RETURN_IF_ERROR(response.status());
    report.set_has_test_accuracy(false);
    if (response->state() != RUNNING) {
      return absl::CancelledError(absl::StrCat("job ", job.job_id(), " is ",
                                               JobState_Name(response->state())));
    }
    return absl::OkStatus();
  };

  // A replacement, or a job restored from a checkpoint, starts at its
  // rank's join clock: the same step of the same epoch's order as the
  // worker it continues.
  const int64_t first_clock = rank < job.workers_size() ? job.workers(rank).join_clock() : 0;
  clock = first_clock;
  report.set_join_clock(first_clock);
  if (first_clock > 0) {
    spdlog::info("job {}: rank {} starts at clock {} (epoch {}, step {})", job.job_id(), rank,
                 first_clock, first_clock / steps_per_epoch, first_clock % steps_per_epoch);
  }
  for (int epoch = first_clock / steps_per_epoch; epoch < spec.training().epochs(); ++epoch) {
    report.set_epoch(epoch);
    const std::vector<int64_t> order =
        data::ShuffledOrder(model->num_examples(), spec.training().seed(), epoch, rank);
    const int64_t first_step =
        epoch == first_clock / steps_per_epoch ? first_clock % steps_per_epoch : 0;
    for (int64_t step = first_step; step < steps_per_epoch; ++step) {
      if (context_.stop_requested()) return absl::CancelledError("worker stopping");
      PETREL_ASSIGN_OR_RETURN(
          double loss, model->Step(clock, absl::MakeConstSpan(order).subspan(step * batch, batch)));
      ++clock;
      window.Add(loss, batch);

      const bool eval_due = rank == 0 && clock % spec.training().eval_every_steps() == 0;
      if (eval_due) {
        PETREL_ASSIGN_OR_RETURN(double accuracy, model->Evaluate(clock));
        set_accuracy(accuracy);
      }
      if (eval_due || window.Due()) PETREL_RETURN_IF_ERROR(send_report());
    }
  }

  // Everyone leaves the clock set (so no one waits for this worker) and
  // reports the end of training; rank 0 then waits for the others, and
  // evaluates the parameters they all produced.
  PETREL_RETURN_IF_ERROR(ps.Leave(clock));
  report.set_finished_training(true);
  PETREL_RETURN_IF_ERROR(send_report(/*must_arrive=*/true));
  if (rank != 0) return absl::OkStatus();
  while (true) {
    report.set_clock(clock);
    PETREL_ASSIGN_OR_RETURN(ReportProgressResponse response, send(/*must_arrive=*/true));
    if (response.state() != RUNNING) {
      return absl::CancelledError(absl::StrCat("job is ", JobState_Name(response.state())));
    }
    if (response.workers_finished() >= job.num_workers()) break;
    if (context_.stop_requested()) return absl::CancelledError("worker stopping");
    absl::SleepFor(absl::Milliseconds(100));
  }
  PETREL_ASSIGN_OR_RETURN(double accuracy, model->Evaluate(clock));
  spdlog::info("job {}: final test accuracy {:.4f}", job.job_id(), accuracy);
  set_accuracy(accuracy);
  report.set_final(true);
  report.set_clock(clock);
  window.Fill(&report);
  context_.on_report(report);
  return send(/*must_arrive=*/true).status();
}

}  // namespace petrel::worker

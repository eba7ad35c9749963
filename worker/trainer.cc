#include "worker/trainer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "worker/data/dataset.h"
#include "client/pipelined_ps_client.h"
#include "worker/step_model.h"

namespace petrel::worker {
namespace {

// How often progress goes to the coordinator.
constexpr absl::Duration kReportInterval = absl::Milliseconds(500);

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

// Counts the time the step model spends waiting for values: in pulls (on
// the staleness gate included) and in the dense pushes that PipelinedPsClient
// makes push-pulls (their whole round trip under BSP, the push included;
// in the background, the part not overlapped, which the next pull waits
// for); and apart, in plain pushes (sparse jobs').
class TimedPsClient : public PsClient {
 public:
  explicit TimedPsClient(PipelinedPsClient* inner) : inner_(inner) {}
  absl::Duration pulling() const { return pulling_; }
  absl::Duration pushing() const { return pushing_; }

  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                    SparseStep* sparse) override {
    const absl::Time start = absl::Now();
    absl::Status status = inner_->Pull(clock, tables, sparse);
    pulling_ += absl::Now() - start;
    return status;
  }
  absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                    const SparseStep* sparse) override {
    const absl::Time start = absl::Now();
    absl::Status status = inner_->Push(clock, gradients, sparse);
    (sparse == nullptr ? pulling_ : pushing_) += absl::Now() - start;
    return status;
  }
  absl::Status Leave(int64_t clock) override { return inner_->Leave(clock); }

 private:
  PipelinedPsClient* const inner_;
  absl::Duration pulling_, pushing_;
};

double Percent(absl::Duration part, absl::Duration whole) {
  return whole > absl::ZeroDuration() ? 100 * absl::FDivDuration(part, whole) : 0;
}

}  // namespace

absl::Status Trainer::Run() {
  absl::Status status = Train();
  reporter_.ReportFailure(status);
  return status;
}

absl::Status Trainer::Train() {
  const JobAssignment& job = context_.assignment;
  const JobSpec& spec = job.spec();
  const int rank = job.rank();
  const int batch = spec.training().batch_size();

  PETREL_RETURN_IF_ERROR(context_.backend->SetAllowTf32(spec.training().allow_tf32()));
  // Each dense push also fetches the next step's values, in its own round
  // trip (PipelinedPsClient), whatever the staleness. Not in the background
  // under SSP and async: between a push and the next pull the trainer does
  // almost nothing (a batch's gather, the odd report), so there was nothing
  // to overlap, and on the 2-core demo machine the thread hand-offs made
  // async runs no faster than separate pushes and pulls (Petrel issue 17).
  // Pull time (waiting on the staleness gate included) for the reports.
  PipelinedPsClient pipelined(context_.ps, /*background=*/false);
  TimedPsClient ps(&pipelined);
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

  ReportProgressRequest& report = reporter_.report();
  report.set_steps_per_epoch(steps_per_epoch);
  ProgressWindow window;
  int64_t clock = 0;
  const absl::Time started = absl::Now();

  // Rank 0's evaluation, with an ensemble's members' own accuracies.
  auto set_accuracy = [&](double accuracy) {
    report.set_has_test_accuracy(true);
    report.set_test_accuracy(accuracy);
    report.clear_member_accuracies();
    for (double member : model->MemberAccuracies()) report.add_member_accuracies(member);
  };
  auto fill_report = [&] {
    report.set_clock(clock);
    report.set_step(clock);
    report.set_pull_seconds(absl::ToDoubleSeconds(ps.pulling()));
    report.set_train_seconds(absl::ToDoubleSeconds(absl::Now() - started));
    window.Fill(&report);
  };

  // A replacement, or a job restored from a checkpoint, starts at its
  // rank's join clock: the same step of the same epoch's order as the
  // worker it continues.
  const int64_t first_clock = report.join_clock();
  clock = first_clock;
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
      if (eval_due || window.Due()) {
        fill_report();
        PETREL_RETURN_IF_ERROR(reporter_.SendDuringTraining());
      }
    }
  }

  // Everyone leaves the clock set (so no one waits for this worker) and
  // reports the end of training; rank 0 then waits for the others, and
  // evaluates the parameters they all produced.
  PETREL_RETURN_IF_ERROR(ps.Leave(clock));
  fill_report();
  const absl::Duration trained = absl::Now() - started;
  spdlog::info("job {}: rank {} trained {} steps in {:.2f} s: {:.1f}% of it waiting for values "
               "(pulls and push-pulls), {:.1f}% in plain pushes; {} pulls answered by push-pulls",
               job.job_id(), rank, clock - first_clock, absl::ToDoubleSeconds(trained),
               Percent(ps.pulling(), trained), Percent(ps.pushing(), trained),
               pipelined.pulls_saved());
  return reporter_.Finish(job.num_workers(), [&]() -> absl::Status {
    PETREL_ASSIGN_OR_RETURN(double accuracy, model->Evaluate(clock));
    set_accuracy(accuracy);
    fill_report();
    return absl::OkStatus();
  });
}

}  // namespace petrel::worker

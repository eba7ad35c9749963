#include "worker/worker_metrics.h"

#include "common/daemon/metrics.h"

namespace petrel::worker {

std::string WorkerMetricsText(const ReportProgressRequest& report) {
  MetricsWriter out;
  const bool training = !report.job_id().empty();
  const MetricLabels labels = {{"job_id", report.job_id()}, {"rank", std::to_string(report.rank())}};
  auto family = [&](const char* name, const char* type, const char* help, double value) {
    out.Family(name, type, help);
    if (training) out.Sample(name, labels, value);
  };
  family("petrel_worker_clock", "gauge", "Iterations whose pushes completed.", report.clock());
  family("petrel_worker_steps_total", "counter", "Steps this worker completed.", report.step());
  family("petrel_worker_epoch", "gauge", "Current epoch.", report.epoch());
  family("petrel_worker_samples_per_second", "gauge", "Training throughput over the last window.",
         report.samples_per_second());
  family("petrel_worker_train_loss", "gauge", "Mean training loss over the last window.",
         report.train_loss());
  family("petrel_worker_pull_seconds_total", "counter",
         "Time spent waiting for parameters (pulls, and push-pulls not overlapped with other work), "
         "waits at the staleness gate included.", report.pull_seconds());
  family("petrel_worker_train_seconds_total", "counter", "Time since this worker started training.",
         report.train_seconds());
  out.Family("petrel_worker_test_accuracy", "gauge", "Latest test accuracy (rank 0 evaluates).");
  if (training && report.has_test_accuracy()) {
    out.Sample("petrel_worker_test_accuracy", labels, report.test_accuracy());
  }
  WriteProcessMetrics(&out);
  return out.text();
}

}  // namespace petrel::worker

// petrel-worker's /metrics: the progress of the job it trains (from the
// report it last sent the coordinator) and the process's figures.
#ifndef PETREL_WORKER_WORKER_METRICS_H_
#define PETREL_WORKER_WORKER_METRICS_H_

#include <string>

#include "proto/coordinator.pb.h"

namespace petrel::worker {

// `report` is empty (no job_id) when the worker trains nothing.
std::string WorkerMetricsText(const ReportProgressRequest& report);

}  // namespace petrel::worker

#endif  // PETREL_WORKER_WORKER_METRICS_H_

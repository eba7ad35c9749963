// One worker's part of one job: pull -> compute -> push over its data shard,
// progress reports to the coordinator, and (rank 0) test-set evaluations,
// the last one after every worker has pushed its final step.
#ifndef PETREL_WORKER_TRAINER_H_
#define PETREL_WORKER_TRAINER_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "common/coordinator_client.h"
#include "kernels/backend.h"
#include "proto/coordinator.pb.h"
#include "worker/ps_client.h"

namespace petrel::worker {

struct TrainerContext {
  JobAssignment assignment;
  std::string worker_id;
  kernels::Backend* backend = nullptr;
  PsClient* ps = nullptr;
  CoordinatorClient* coordinator = nullptr;
  // True once the worker is shutting down or the job was taken away.
  std::function<bool()> stop_requested = [] { return false; };
  // Sees every progress report before it is sent (for /status).
  std::function<void(const ReportProgressRequest&)> on_report = [](const auto&) {};
};

class Trainer {
 public:
  explicit Trainer(TrainerContext context) : context_(std::move(context)) {}

  // Trains to the end of the job. A failure is also reported to the
  // coordinator, which fails the job with its message.
  absl::Status Run();

 private:
  absl::Status Train();

  TrainerContext context_;
};

}  // namespace petrel::worker

#endif  // PETREL_WORKER_TRAINER_H_

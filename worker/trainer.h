// One worker's part of one job: pull -> compute -> push over its data shard,
// progress reports to the coordinator, and (rank 0) test-set evaluations,
// the last one after every worker has pushed its final step.
#ifndef PETREL_WORKER_TRAINER_H_
#define PETREL_WORKER_TRAINER_H_

#include "absl/status/status.h"
#include "worker/progress_reporter.h"
#include "worker/trainer_context.h"

namespace petrel::worker {

class Trainer {
 public:
  explicit Trainer(TrainerContext context)
      : context_(std::move(context)), reporter_(&context_) {}

  // Trains to the end of the job. A failure is also reported to the
  // coordinator, which fails the job with its message.
  absl::Status Run();

 private:
  absl::Status Train();

  TrainerContext context_;
  ProgressReporter reporter_;
};

}  // namespace petrel::worker

#endif  // PETREL_WORKER_TRAINER_H_

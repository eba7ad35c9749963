// What one kind of model does in a training step, behind the trainer's loop:
// the trainer owns epochs, clocks, progress and the end-of-job barrier; a
// StepModel owns its data, its pulls and pushes, and its evaluation.
#ifndef PETREL_WORKER_STEP_MODEL_H_
#define PETREL_WORKER_STEP_MODEL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kernels/backend.h"
#include "proto/coordinator.pb.h"
#include "client/ps_client.h"

namespace petrel::worker {

class StepModel {
 public:
  virtual ~StepModel() = default;

  // Examples in this worker's shard of the training data.
  virtual int64_t num_examples() const = 0;
  // One line for the log: the model, the data, the device.
  virtual std::string Describe() const = 0;

  // Pulls for `clock`, computes the gradient of the mean loss over the
  // examples `batch` (indices into the shard) and pushes it. Returns the
  // mean loss.
  virtual absl::StatusOr<double> Step(int64_t clock, absl::Span<const int64_t> batch) = 0;

  // Test-set accuracy of the parameters pulled for `clock`.
  virtual absl::StatusOr<double> Evaluate(int64_t clock) = 0;

  // An ensemble's members' own test accuracies at the last Evaluate (whose
  // result is the ensemble's); empty for a single model.
  virtual std::vector<double> MemberAccuracies() const { return {}; }
};

// The model of `assignment`'s job, with this worker's data loaded: rank r
// of n reads shard r of the training data; rank 0 also reads the test set.
// `ps` and `backend` are not owned.
absl::StatusOr<std::unique_ptr<StepModel>> CreateStepModel(const JobAssignment& assignment,
                                                           kernels::Backend* backend,
                                                           PsClient* ps);

}  // namespace petrel::worker

#endif  // PETREL_WORKER_STEP_MODEL_H_

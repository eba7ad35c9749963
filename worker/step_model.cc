#include "worker/step_model.h"

#include "worker/dense_step_model.h"
#include "worker/ensemble_step_model.h"
#include "worker/sparse_step_model.h"

namespace petrel::worker {

absl::StatusOr<std::unique_ptr<StepModel>> CreateStepModel(const JobAssignment& assignment,
                                                           kernels::Backend* backend,
                                                           PsClient* ps) {
  if (assignment.spec().mode() == "ensemble") {
    return CreateEnsembleStepModel(assignment, backend, ps);
  }
  if (assignment.spec().model().type() == "sparse_logistic") {
    return CreateSparseStepModel(assignment, ps);
  }
  return CreateDenseStepModel(assignment, backend, ps);
}

}  // namespace petrel::worker

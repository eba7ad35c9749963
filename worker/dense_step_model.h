// Softmax regression and MLPs on IDX images: every step pulls every dense
// table and pushes a gradient for each, computed through the Backend.
#ifndef PETREL_WORKER_DENSE_STEP_MODEL_H_
#define PETREL_WORKER_DENSE_STEP_MODEL_H_

#include "worker/step_model.h"

namespace petrel::worker {

absl::StatusOr<std::unique_ptr<StepModel>> CreateDenseStepModel(const JobAssignment& assignment,
                                                                kernels::Backend* backend,
                                                                PsClient* ps);

}  // namespace petrel::worker

#endif  // PETREL_WORKER_DENSE_STEP_MODEL_H_

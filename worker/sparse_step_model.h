// Sparse logistic regression on libsvm data: every step pulls and pushes
// only the rows of the features its minibatch touches (plus the bias).
#ifndef PETREL_WORKER_SPARSE_STEP_MODEL_H_
#define PETREL_WORKER_SPARSE_STEP_MODEL_H_

#include "worker/step_model.h"

namespace petrel::worker {

absl::StatusOr<std::unique_ptr<StepModel>> CreateSparseStepModel(const JobAssignment& assignment,
                                                                 PsClient* ps);

}  // namespace petrel::worker

#endif  // PETREL_WORKER_SPARSE_STEP_MODEL_H_

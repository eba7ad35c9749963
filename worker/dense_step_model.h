// Softmax regression and MLPs on IDX images: every step pulls every dense
// table and pushes a gradient for each, computed through the Backend.
#ifndef PETREL_WORKER_DENSE_STEP_MODEL_H_
#define PETREL_WORKER_DENSE_STEP_MODEL_H_

#include "worker/data/dataset.h"
#include "worker/step_model.h"

namespace petrel::worker {

absl::StatusOr<std::unique_ptr<StepModel>> CreateDenseStepModel(const JobAssignment& assignment,
                                                                kernels::Backend* backend,
                                                                PsClient* ps);

// Shared with the ensemble model (worker/ensemble_step_model.h).

// Evaluation runs in chunks this large, whatever the training batch.
inline constexpr int kEvalChunk = 1000;

// A dense job's data as one worker holds it: shard `rank` of `num_workers`
// of the training set (dealt as data.partition says); the whole test set on
// rank 0 (empty elsewhere). Shared with the federated trainer too.
struct DenseData {
  data::Dataset train;
  data::Dataset test;
};

// Loads `assignment`'s data and checks its features against
// model.input_dim.
absl::StatusOr<DenseData> LoadDenseData(const JobAssignment& assignment);

}  // namespace petrel::worker

#endif  // PETREL_WORKER_DENSE_STEP_MODEL_H_

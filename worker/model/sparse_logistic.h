// Binary logistic regression on sparse features (model.type
// "sparse_logistic"): p(y = 1 | x) = sigmoid(bias + sum_k x_k * w_k), with
// the weights w in the sparse table "weights" (dim 1) and the bias in the
// dense table "bias" [1] (common/model_tables.h). A step touches only the
// keys its examples use: UniqueKeys says which rows to pull, and the
// gradients come back in the same order for the push.
//
// Plain C++ on the host: a step's work is proportional to the nonzeros of
// its batch, far too little to be worth a kernels::Backend.
#ifndef PETREL_WORKER_MODEL_SPARSE_LOGISTIC_H_
#define PETREL_WORKER_MODEL_SPARSE_LOGISTIC_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "worker/data/libsvm_reader.h"

namespace petrel::model {

class SparseLogistic {
 public:
  // The same fields as StepResult / EvalResult of worker/model/mlp.h, kept
  // here so this model does not pull in the kernels backend.
  struct StepResult {
    double loss = 0;      // mean log loss over the batch
    int64_t correct = 0;  // examples predicted right (p >= 0.5 predicts 1)
  };
  struct EvalResult {
    double loss = 0;      // mean over `count` examples
    double accuracy = 0;  // fraction correct
    int64_t count = 0;
  };

  // The distinct feature keys of `examples` (indices into `data`, which must
  // be in range), sorted ascending: the rows of "weights" a step must pull.
  static void UniqueKeys(const data::SparseDataset& data,
                         absl::Span<const int64_t> examples,
                         std::vector<uint64_t>* keys);

  // `keys` sorted and distinct (as UniqueKeys gives) and covering every key
  // of `examples`; weights[i] is the weight of keys[i]. Returns the mean log
  // loss and fills grad_weights (resized to keys.size(); grad_weights[i]
  // belongs to keys[i]) and grad_bias with the gradient of that mean. An
  // empty `examples` gives zero loss and zero gradients.
  // INVALID_ARGUMENT for a label other than 0/1, an example index out of
  // range, a key missing from `keys`, unsorted keys, or
  // weights.size() != keys.size(); the outputs are then unspecified.
  static absl::StatusOr<StepResult> ComputeGradients(
      const data::SparseDataset& data, absl::Span<const int64_t> examples,
      absl::Span<const uint64_t> keys, absl::Span<const float> weights,
      float bias, std::vector<float>* grad_weights, float* grad_bias);

  // Mean log loss and accuracy over `examples`, with the errors of
  // ComputeGradients. An empty `examples` gives an all-zero result.
  static absl::StatusOr<EvalResult> Evaluate(const data::SparseDataset& data,
                                             absl::Span<const int64_t> examples,
                                             absl::Span<const uint64_t> keys,
                                             absl::Span<const float> weights,
                                             float bias);
};

}  // namespace petrel::model

#endif  // PETREL_WORKER_MODEL_SPARSE_LOGISTIC_H_

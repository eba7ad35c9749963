// A multi-layer perceptron (softmax regression when it has no hidden layer)
// that computes gradients and evaluates through a kernels::Backend, so the
// same code runs on the CPU and on a GPU. Parameters live on the backend and
// are replaced wholesale by SetParameters each step; gradients come back to
// the host for pushing.
#ifndef PETREL_WORKER_MODEL_MLP_H_
#define PETREL_WORKER_MODEL_MLP_H_

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "kernels/backend.h"
#include "proto/job.pb.h"

namespace petrel::model {

struct StepResult {
  double loss = 0;      // mean over the batch
  int64_t correct = 0;  // examples whose arg-max is the label
};

struct EvalResult {
  double loss = 0;      // mean over `count` examples
  double accuracy = 0;  // fraction correct
  int64_t count = 0;
};

class Mlp {
 public:
  // Allocates every buffer for batches of up to `max_batch` examples, so no
  // step allocates. `backend` is not owned and must outlive the Mlp.
  static absl::StatusOr<std::unique_ptr<Mlp>> Create(const ModelSpec& spec,
                                                     kernels::Backend* backend, int max_batch);

  // The model's tables, as ModelTables(spec) gives them: the order of the
  // spans in SetParameters and of the vectors ComputeGradients fills.
  const std::vector<DenseTable>& tables() const { return tables_; }
  int max_batch() const { return max_batch_; }

  // Replaces all parameters; checks every size first, so a refused call
  // changes nothing.
  absl::Status SetParameters(const std::vector<absl::Span<const float>>& tables);

  // For `batch` examples (host memory: batch x input_dim features, batch
  // labels), fills one host vector per table with the gradient of the mean
  // loss over the batch.
  absl::StatusOr<StepResult> ComputeGradients(const float* features, const int32_t* labels,
                                              int batch,
                                              std::vector<std::vector<float>>* gradients);

  // Forward pass over `count` examples in chunks of max_batch(). A count of 0
  // gives an all-zero result.
  absl::StatusOr<EvalResult> Evaluate(const float* features, const int32_t* labels,
                                      int64_t count);

  // The predicted class probabilities (softmax of the logits) of `count`
  // examples, in chunks of max_batch(): fills `probabilities` (resized) with
  // count x num_classes floats in host memory, row-major.
  absl::Status Probabilities(const float* features, int64_t count,
                             std::vector<float>* probabilities);

 private:
  // One affine layer and the buffers of its forward and backward passes.
  struct Layer {
    int fan_in = 0;
    int fan_out = 0;
    kernels::DeviceArray<float> weights;       // fan_in x fan_out
    kernels::DeviceArray<float> bias;          // fan_out
    kernels::DeviceArray<float> weights_grad;  // fan_in x fan_out
    kernels::DeviceArray<float> bias_grad;     // fan_out
    kernels::DeviceArray<float> output;        // max_batch x fan_out, after activation
    kernels::DeviceArray<float> delta;         // max_batch x fan_out, d(loss)/d(pre-activation)
  };

  Mlp(kernels::Backend* backend, std::vector<DenseTable> tables, int max_batch)
      : backend_(backend), tables_(std::move(tables)), max_batch_(max_batch) {}

  // Copies `batch` examples (and their labels, unless `labels` is null) to
  // the backend and runs the forward pass; the logits end up in
  // layers_.back().output.
  absl::Status Forward(const float* features, const int32_t* labels, int batch);
  absl::Status Backward(int batch);

  kernels::Backend* backend_;
  std::vector<DenseTable> tables_;
  int max_batch_;
  int input_dim_ = 0;
  std::vector<Layer> layers_;
  kernels::DeviceArray<float> input_;     // max_batch x input_dim
  kernels::DeviceArray<int32_t> labels_;  // max_batch
  bool has_parameters_ = false;
};

}  // namespace petrel::model

#endif  // PETREL_WORKER_MODEL_MLP_H_

#include "worker/model/mlp.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/jobspec/model_tables.h"
#include "common/status_macros.h"

namespace petrel::model {

using kernels::Activation;
using kernels::Transpose;

absl::StatusOr<std::unique_ptr<Mlp>> Mlp::Create(const ModelSpec& spec,
                                                 kernels::Backend* backend, int max_batch) {
  if (backend == nullptr) return absl::InvalidArgumentError("Mlp: backend is null");
  if (spec.type() != "softmax" && spec.type() != "mlp") {
    return absl::InvalidArgumentError(absl::StrCat(
        "model type \"", spec.type(), "\" is not supported: expected \"softmax\" or \"mlp\""));
  }
  if (spec.type() == "softmax" && spec.hidden_size() > 0) {
    return absl::InvalidArgumentError(
        "model type \"softmax\" has no hidden layers, but hidden is set");
  }
  if (spec.input_dim() <= 0 || spec.num_classes() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("model input_dim (", spec.input_dim(),
                                                   ") and num_classes (", spec.num_classes(),
                                                   ") must be positive"));
  }
  for (int width : spec.hidden()) {
    if (width <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "model hidden widths must be positive, got [", absl::StrJoin(spec.hidden(), ", "), "]"));
    }
  }
  if (max_batch <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("max batch ", max_batch, " must be positive"));
  }

  std::unique_ptr<Mlp> mlp(new Mlp(backend, ModelTables(spec), max_batch));
  mlp->input_dim_ = spec.input_dim();
  const size_t batch = max_batch;
  PETREL_ASSIGN_OR_RETURN(mlp->input_, backend->AllocateFloats(batch * spec.input_dim()));
  PETREL_ASSIGN_OR_RETURN(mlp->labels_, backend->AllocateInts(batch));
  // Tables come in (weights, bias) pairs, one pair per layer.
  for (size_t t = 0; t < mlp->tables_.size(); t += 2) {
    const DenseTable& weights = mlp->tables_[t];
    Layer layer;
    layer.fan_in = static_cast<int>(weights.shape(0));
    layer.fan_out = static_cast<int>(weights.shape(1));
    const size_t params = TableSize(weights);
    PETREL_ASSIGN_OR_RETURN(layer.weights, backend->AllocateFloats(params));
    PETREL_ASSIGN_OR_RETURN(layer.weights_grad, backend->AllocateFloats(params));
    PETREL_ASSIGN_OR_RETURN(layer.bias, backend->AllocateFloats(layer.fan_out));
    PETREL_ASSIGN_OR_RETURN(layer.bias_grad, backend->AllocateFloats(layer.fan_out));
    PETREL_ASSIGN_OR_RETURN(layer.output, backend->AllocateFloats(batch * layer.fan_out));
    PETREL_ASSIGN_OR_RETURN(layer.delta, backend->AllocateFloats(batch * layer.fan_out));
    mlp->layers_.push_back(std::move(layer));
  }
  return mlp;
}

absl::Status Mlp::SetParameters(const std::vector<absl::Span<const float>>& tables) {
  if (tables.size() != tables_.size()) {
    std::vector<std::string> names;
    for (const DenseTable& table : tables_) names.push_back(table.name());
    return absl::InvalidArgumentError(absl::StrCat("expected ", tables_.size(), " tables (",
                                                   absl::StrJoin(names, ", "), "), got ",
                                                   tables.size()));
  }
  for (size_t t = 0; t < tables.size(); ++t) {
    const int64_t expected = TableSize(tables_[t]);
    if (static_cast<int64_t>(tables[t].size()) != expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("table ", tables_[t].name(), " has ", tables[t].size(),
                       " values, expected ", expected, " (shape [",
                       absl::StrJoin(tables_[t].shape(), ", "), "])"));
    }
  }
  for (size_t i = 0; i < layers_.size(); ++i) {
    PETREL_RETURN_IF_ERROR(backend_->CopyToDevice(tables[2 * i], layers_[i].weights.data()));
    PETREL_RETURN_IF_ERROR(backend_->CopyToDevice(tables[2 * i + 1], layers_[i].bias.data()));
  }
  has_parameters_ = true;
  return absl::OkStatus();
}

absl::Status Mlp::Forward(const float* features, const int32_t* labels, int batch) {
  if (!has_parameters_) {
    return absl::FailedPreconditionError("Mlp: SetParameters has not been called");
  }
  if (features == nullptr) return absl::InvalidArgumentError("Mlp: features is null");
  const size_t rows = batch;
  PETREL_RETURN_IF_ERROR(backend_->CopyToDevice(
      absl::MakeConstSpan(features, rows * input_dim_), input_.data()));
  if (labels != nullptr) {
    PETREL_RETURN_IF_ERROR(
        backend_->CopyToDevice(absl::MakeConstSpan(labels, rows), labels_.data()));
  }
  const float* x = input_.data();
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& layer = layers_[i];
    // ReLU on hidden layers; the last layer's output is the logits.
    const Activation activation =
        i + 1 < layers_.size() ? Activation::kRelu : Activation::kIdentity;
    PETREL_RETURN_IF_ERROR(backend_->Gemm(Transpose::kNo, Transpose::kNo, batch, layer.fan_out,
                                          layer.fan_in, 1.0f, x, layer.weights.data(), 0.0f,
                                          layer.output.data()));
    PETREL_RETURN_IF_ERROR(backend_->BiasActivation(batch, layer.fan_out, layer.bias.data(),
                                                    activation, layer.output.data()));
    x = layer.output.data();
  }
  return absl::OkStatus();
}

// Expects layers_.back().delta to hold d(loss)/d(logits).
absl::Status Mlp::Backward(int batch) {
  for (size_t i = layers_.size(); i-- > 0;) {
    Layer& layer = layers_[i];
    const float* layer_input = i == 0 ? input_.data() : layers_[i - 1].output.data();
    // dW = input^T * delta; db = column sums of delta.
    PETREL_RETURN_IF_ERROR(backend_->Gemm(Transpose::kYes, Transpose::kNo, layer.fan_in,
                                          layer.fan_out, batch, 1.0f, layer_input,
                                          layer.delta.data(), 0.0f, layer.weights_grad.data()));
    PETREL_RETURN_IF_ERROR(
        backend_->ColumnSum(batch, layer.fan_out, layer.delta.data(), layer.bias_grad.data()));
    if (i == 0) break;
    // The previous layer's delta: delta * W^T, through its ReLU.
    Layer& previous = layers_[i - 1];
    PETREL_RETURN_IF_ERROR(backend_->Gemm(Transpose::kNo, Transpose::kYes, batch, layer.fan_in,
                                          layer.fan_out, 1.0f, layer.delta.data(),
                                          layer.weights.data(), 0.0f, previous.delta.data()));
    PETREL_RETURN_IF_ERROR(backend_->ReluBackward(static_cast<size_t>(batch) * previous.fan_out,
                                                  previous.output.data(),
                                                  previous.delta.data()));
  }
  return absl::OkStatus();
}

absl::StatusOr<StepResult> Mlp::ComputeGradients(const float* features, const int32_t* labels,
                                                 int batch,
                                                 std::vector<std::vector<float>>* gradients) {
  if (batch <= 0 || batch > max_batch_) {
    return absl::InvalidArgumentError(
        absl::StrCat("batch of ", batch, " examples is outside [1, ", max_batch_, "]"));
  }
  if (gradients == nullptr) return absl::InvalidArgumentError("Mlp: gradients is null");
  if (labels == nullptr) return absl::InvalidArgumentError("Mlp: labels is null");
  PETREL_RETURN_IF_ERROR(Forward(features, labels, batch));
  Layer& last = layers_.back();
  PETREL_ASSIGN_OR_RETURN(
      kernels::Backend::LossResult loss,
      backend_->SoftmaxCrossEntropy(batch, last.fan_out, last.output.data(), labels_.data(),
                                    last.delta.data()));
  PETREL_RETURN_IF_ERROR(Backward(batch));

  // resize() keeps the caller's capacity, so steady-state steps do not allocate.
  gradients->resize(tables_.size());
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::vector<float>& weights = (*gradients)[2 * i];
    std::vector<float>& bias = (*gradients)[2 * i + 1];
    weights.resize(layers_[i].weights_grad.size());
    bias.resize(layers_[i].bias_grad.size());
    PETREL_RETURN_IF_ERROR(
        backend_->CopyToHost(layers_[i].weights_grad.data(), absl::MakeSpan(weights)));
    PETREL_RETURN_IF_ERROR(backend_->CopyToHost(layers_[i].bias_grad.data(), absl::MakeSpan(bias)));
  }
  return StepResult{loss.loss, loss.correct};
}

absl::StatusOr<EvalResult> Mlp::Evaluate(const float* features, const int32_t* labels,
                                         int64_t count) {
  if (count < 0) return absl::InvalidArgumentError("Mlp: negative example count");
  if (count > 0 && labels == nullptr) return absl::InvalidArgumentError("Mlp: labels is null");
  EvalResult result;
  double total_loss = 0;
  int64_t correct = 0;
  for (int64_t begin = 0; begin < count; begin += max_batch_) {
    const int rows = static_cast<int>(std::min<int64_t>(max_batch_, count - begin));
    PETREL_RETURN_IF_ERROR(Forward(features + begin * input_dim_, labels + begin, rows));
    const Layer& last = layers_.back();
    absl::StatusOr<kernels::Backend::LossResult> loss = backend_->SoftmaxCrossEntropy(
        rows, last.fan_out, last.output.data(), labels_.data(), nullptr);
    if (!loss.ok()) {
      // The backend numbers rows within the chunk; say where the chunk starts.
      return absl::Status(loss.status().code(), absl::StrCat("evaluating examples from ", begin,
                                                             ": ", loss.status().message()));
    }
    total_loss += loss->loss * rows;
    correct += loss->correct;
  }
  if (count > 0) {
    result.loss = total_loss / count;
    result.accuracy = static_cast<double>(correct) / count;
    result.count = count;
  }
  return result;
}

absl::Status Mlp::Probabilities(const float* features, int64_t count,
                                std::vector<float>* probabilities) {
  if (count < 0) return absl::InvalidArgumentError("Mlp: negative example count");
  if (probabilities == nullptr) return absl::InvalidArgumentError("Mlp: probabilities is null");
  const int classes = layers_.back().fan_out;
  probabilities->resize(static_cast<size_t>(count) * classes);
  for (int64_t begin = 0; begin < count; begin += max_batch_) {
    const int rows = static_cast<int>(std::min<int64_t>(max_batch_, count - begin));
    PETREL_RETURN_IF_ERROR(Forward(features + begin * input_dim_, /*labels=*/nullptr, rows));
    float* out = probabilities->data() + begin * classes;
    PETREL_RETURN_IF_ERROR(backend_->CopyToHost(
        layers_.back().output.data(), absl::MakeSpan(out, static_cast<size_t>(rows) * classes)));
    // Softmax on the host, row by row, shifted by the row's maximum so exp
    // cannot overflow.
    for (int r = 0; r < rows; ++r) {
      float* row = out + static_cast<size_t>(r) * classes;
      const float max = *std::max_element(row, row + classes);
      double sum = 0;
      for (int c = 0; c < classes; ++c) {
        row[c] = std::exp(row[c] - max);
        sum += row[c];
      }
      for (int c = 0; c < classes; ++c) row[c] = static_cast<float>(row[c] / sum);
    }
  }
  return absl::OkStatus();
}

}  // namespace petrel::model

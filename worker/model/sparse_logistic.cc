#include "worker/model/sparse_logistic.h"

#include <algorithm>
#include <cmath>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace petrel::model {
namespace {

// log(1 + exp(x)) without overflow for large |x|.
double Softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

double Sigmoid(double z) {
  if (z >= 0) return 1 / (1 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1 + e);
}

// The checks shared by ComputeGradients and Evaluate, and the forward pass:
// walks `examples`, calling on_example(label, z, positions) with the logit z
// and, for each nonzero of the example, the index of its key in `keys`.
class Forward {
 public:
  Forward(const data::SparseDataset& data, absl::Span<const uint64_t> keys,
          absl::Span<const float> weights, float bias)
      : data_(data), keys_(keys), weights_(weights), bias_(bias) {}

  absl::Status CheckInputs() const {
    if (weights_.size() != keys_.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("sparse_logistic: ", weights_.size(), " weights for ",
                       keys_.size(), " keys"));
    }
    for (size_t i = 1; i < keys_.size(); ++i) {
      if (keys_[i - 1] >= keys_[i]) {
        return absl::InvalidArgumentError(
            absl::StrCat("sparse_logistic: keys must be sorted and distinct; "
                         "keys[", i - 1, "] = ", keys_[i - 1], ", keys[", i,
                         "] = ", keys_[i]));
      }
    }
    return absl::OkStatus();
  }

  // Computes the logit of example `e` into *z and the positions of its keys
  // into *positions; *label is its 0/1 label.
  absl::Status Run(int64_t e, int32_t* label, double* z,
                   std::vector<size_t>* positions) const {
    if (e < 0 || e >= data_.num_examples()) {
      return absl::InvalidArgumentError(
          absl::StrCat("sparse_logistic: example index ", e,
                       " out of range [0, ", data_.num_examples(), ")"));
    }
    *label = data_.labels[e];
    if (*label != 0 && *label != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("sparse_logistic: example ", e, " has label ", *label,
                       "; binary logistic regression needs labels 0 or 1"));
    }
    positions->clear();
    double sum = bias_;
    for (int64_t j = data_.offsets[e]; j < data_.offsets[e + 1]; ++j) {
      const uint64_t key = data_.keys[j];
      auto it = std::lower_bound(keys_.begin(), keys_.end(), key);
      if (it == keys_.end() || *it != key) {
        return absl::InvalidArgumentError(
            absl::StrCat("sparse_logistic: key ", key, " of example ", e,
                         " is not among the pulled keys"));
      }
      const size_t pos = it - keys_.begin();
      positions->push_back(pos);
      sum += static_cast<double>(data_.values[j]) * weights_[pos];
    }
    *z = sum;
    return absl::OkStatus();
  }

 private:
  const data::SparseDataset& data_;
  const absl::Span<const uint64_t> keys_;
  const absl::Span<const float> weights_;
  const float bias_;
};

// Log loss of logit z for label y in {0, 1}: -log p(y | z).
double LogLoss(double z, int32_t y) { return Softplus(z) - y * z; }

}  // namespace

void SparseLogistic::UniqueKeys(const data::SparseDataset& data,
                                absl::Span<const int64_t> examples,
                                std::vector<uint64_t>* keys) {
  keys->clear();
  for (int64_t e : examples) {
    keys->insert(keys->end(), data.keys.begin() + data.offsets[e],
                 data.keys.begin() + data.offsets[e + 1]);
  }
  std::sort(keys->begin(), keys->end());
  keys->erase(std::unique(keys->begin(), keys->end()), keys->end());
}

absl::StatusOr<SparseLogistic::StepResult> SparseLogistic::ComputeGradients(
    const data::SparseDataset& data, absl::Span<const int64_t> examples,
    absl::Span<const uint64_t> keys, absl::Span<const float> weights,
    float bias, std::vector<float>* grad_weights, float* grad_bias) {
  const Forward forward(data, keys, weights, bias);
  PETREL_RETURN_IF_ERROR(forward.CheckInputs());
  // Accumulate in double: a batch may add thousands of terms to the bias.
  std::vector<double> grad(keys.size(), 0.0);
  double grad_b = 0;
  StepResult result;
  std::vector<size_t> positions;
  for (int64_t e : examples) {
    int32_t label = 0;
    double z = 0;
    PETREL_RETURN_IF_ERROR(forward.Run(e, &label, &z, &positions));
    result.loss += LogLoss(z, label);
    if ((z >= 0) == (label == 1)) ++result.correct;
    const double dz = Sigmoid(z) - label;  // d(loss)/dz
    grad_b += dz;
    for (size_t i = 0; i < positions.size(); ++i) {
      grad[positions[i]] += dz * data.values[data.offsets[e] + i];
    }
  }
  const double scale = examples.empty() ? 0.0 : 1.0 / examples.size();
  result.loss *= scale;
  grad_weights->resize(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    (*grad_weights)[i] = static_cast<float>(grad[i] * scale);
  }
  *grad_bias = static_cast<float>(grad_b * scale);
  return result;
}

absl::StatusOr<SparseLogistic::EvalResult> SparseLogistic::Evaluate(
    const data::SparseDataset& data, absl::Span<const int64_t> examples,
    absl::Span<const uint64_t> keys, absl::Span<const float> weights,
    float bias) {
  const Forward forward(data, keys, weights, bias);
  PETREL_RETURN_IF_ERROR(forward.CheckInputs());
  EvalResult result;
  int64_t correct = 0;
  std::vector<size_t> positions;
  for (int64_t e : examples) {
    int32_t label = 0;
    double z = 0;
    PETREL_RETURN_IF_ERROR(forward.Run(e, &label, &z, &positions));
    result.loss += LogLoss(z, label);
    if ((z >= 0) == (label == 1)) ++correct;
  }
  result.count = static_cast<int64_t>(examples.size());
  if (result.count > 0) {
    result.loss /= result.count;
    result.accuracy = static_cast<double>(correct) / result.count;
  }
  return result;
}

}  // namespace petrel::model

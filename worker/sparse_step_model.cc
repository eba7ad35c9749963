#include "worker/sparse_step_model.h"

#include <numeric>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "worker/data/libsvm_reader.h"
#include "worker/model/sparse_logistic.h"

namespace petrel::worker {
namespace {

class SparseStepModel : public StepModel {
 public:
  SparseStepModel(data::SparseDataset train, data::SparseDataset test, PsClient* ps,
                  int64_t feature_space)
      : train_(std::move(train)), test_(std::move(test)), ps_(ps), feature_space_(feature_space) {
    step_.keys.resize(1);
    step_.rows.resize(1);
  }

  int64_t num_examples() const override { return train_.num_examples(); }
  std::string Describe() const override {
    return absl::StrCat(train_.num_examples(), " sparse examples (libsvm), sparse logistic "
                        "regression over ", feature_space_, " hashed features, on the CPU");
  }

  absl::StatusOr<double> Step(int64_t clock, absl::Span<const int64_t> batch) override {
    model::SparseLogistic::UniqueKeys(train_, batch, &step_.keys[0]);
    PETREL_RETURN_IF_ERROR(ps_->Pull(clock, &params_, &step_));
    PETREL_ASSIGN_OR_RETURN(
        model::SparseLogistic::StepResult result,
        model::SparseLogistic::ComputeGradients(train_, batch, step_.keys[0], step_.rows[0],
                                                params_[0][0], &grad_weights_, &grad_bias_));
    step_.rows[0].swap(grad_weights_);  // the push carries gradients in the rows
    gradients_.assign(1, std::vector<float>{grad_bias_});
    PETREL_RETURN_IF_ERROR(ps_->Push(clock, gradients_, &step_));
    keys_moved_ += static_cast<int64_t>(step_.keys[0].size());
    ++steps_;
    return result.loss;
  }

  absl::StatusOr<double> Evaluate(int64_t clock) override {
    if (test_examples_.empty()) {
      test_examples_.resize(test_.num_examples());
      std::iota(test_examples_.begin(), test_examples_.end(), 0);
      model::SparseLogistic::UniqueKeys(test_, test_examples_, &test_keys_);
    }
    SparseStep eval;
    eval.keys = {test_keys_};
    PETREL_RETURN_IF_ERROR(ps_->Pull(clock, &params_, &eval));
    PETREL_ASSIGN_OR_RETURN(model::SparseLogistic::EvalResult result,
                            model::SparseLogistic::Evaluate(test_, test_examples_, test_keys_,
                                                            eval.rows[0], params_[0][0]));
    if (steps_ > 0) {
      // What sparsity saves: a step moves the touched rows (key + value each
      // way) instead of the whole weight vector.
      const double sparse_bytes = 2.0 * keys_moved_ / steps_ * (sizeof(uint64_t) + sizeof(float));
      spdlog::info("bytes moved per step: {:.0f} sparse against {:.0f} for the dense weights "
                   "({:.0f}x less)",
                   sparse_bytes, 2.0 * feature_space_ * sizeof(float),
                   2.0 * feature_space_ * sizeof(float) / sparse_bytes);
    }
    return result.accuracy;
  }

 private:
  const data::SparseDataset train_, test_;
  PsClient* const ps_;
  const int64_t feature_space_;
  SparseStep step_;
  std::vector<std::vector<float>> params_, gradients_;
  std::vector<float> grad_weights_;
  float grad_bias_ = 0;
  std::vector<int64_t> test_examples_;
  std::vector<uint64_t> test_keys_;
  int64_t keys_moved_ = 0, steps_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StepModel>> CreateSparseStepModel(const JobAssignment& assignment,
                                                                 PsClient* ps) {
  const DataSpec& data = assignment.spec().data();
  PETREL_ASSIGN_OR_RETURN(
      data::SparseDataset train,
      data::LoadLibsvm(absl::StrCat(data.path(), "/", data.train_file()), assignment.rank(),
                       assignment.num_workers()));
  data::SparseDataset test;
  if (assignment.rank() == 0) {
    PETREL_ASSIGN_OR_RETURN(test,
                            data::LoadLibsvm(absl::StrCat(data.path(), "/", data.test_file())));
  }
  return std::make_unique<SparseStepModel>(std::move(train), std::move(test), ps,
                                           assignment.spec().model().input_dim());
}

}  // namespace petrel::worker

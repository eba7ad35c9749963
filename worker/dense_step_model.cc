#include "worker/dense_step_model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "worker/data/dataset.h"
#include "worker/model/mlp.h"

namespace petrel::worker {
namespace {

std::string DataFile(const DataSpec& data, const std::string& name) {
  return absl::StrCat(data.path(), "/", name);
}

class DenseStepModel : public StepModel {
 public:
  DenseStepModel(data::Dataset train, data::Dataset test, std::unique_ptr<model::Mlp> mlp,
                 kernels::Backend* backend, PsClient* ps, int batch)
      : train_(std::move(train)),
        test_(std::move(test)),
        mlp_(std::move(mlp)),
        backend_(backend),
        ps_(ps),
        batch_features_(static_cast<size_t>(batch) * train_.feature_dim),
        batch_labels_(batch) {}

  int64_t num_examples() const override { return train_.num_examples; }
  std::string Describe() const override {
    return absl::StrCat(train_.num_examples, " examples of ", train_.feature_dim,
                        " features, on ", backend_->Description());
  }

  absl::StatusOr<double> Step(int64_t clock, absl::Span<const int64_t> batch) override {
    const int n = static_cast<int>(batch.size());
    PETREL_RETURN_IF_ERROR(data::GatherBatch(
        train_, batch, absl::MakeSpan(batch_features_).first(n * train_.feature_dim),
        absl::MakeSpan(batch_labels_).first(n)));
    PETREL_RETURN_IF_ERROR(ps_->Pull(clock, &params_));
    PETREL_RETURN_IF_ERROR(mlp_->SetParameters({params_.begin(), params_.end()}));
    PETREL_ASSIGN_OR_RETURN(model::StepResult result,
                            mlp_->ComputeGradients(batch_features_.data(), batch_labels_.data(),
                                                   n, &gradients_));
    PETREL_RETURN_IF_ERROR(ps_->Push(clock, gradients_));
    return result.loss;
  }

  absl::StatusOr<double> Evaluate(int64_t clock) override {
    PETREL_RETURN_IF_ERROR(ps_->Pull(clock, &params_));
    PETREL_RETURN_IF_ERROR(mlp_->SetParameters({params_.begin(), params_.end()}));
    PETREL_ASSIGN_OR_RETURN(model::EvalResult result,
                            mlp_->Evaluate(test_.features.data(), test_.labels.data(),
                                           test_.num_examples));
    return result.accuracy;
  }

 private:
  const data::Dataset train_, test_;
  const std::unique_ptr<model::Mlp> mlp_;
  kernels::Backend* const backend_;
  PsClient* const ps_;
  std::vector<std::vector<float>> params_, gradients_;
  std::vector<float> batch_features_;
  std::vector<int32_t> batch_labels_;
};

}  // namespace

absl::StatusOr<DenseData> LoadDenseData(const JobAssignment& assignment) {
  const JobSpec& spec = assignment.spec();
  const DataSpec& data = spec.data();
  DenseData loaded;
  data::DataPartition partition;
  partition.by_label = data.partition() == "by_label";
  partition.shards_per_worker = std::max(1, data.classes_per_worker());
  PETREL_ASSIGN_OR_RETURN(loaded.train, data::LoadIdxDataset(DataFile(data, data.train_images()),
                                                             DataFile(data, data.train_labels()),
                                                             assignment.rank(),
                                                             assignment.num_workers(), partition));
  if (assignment.rank() == 0) {
    PETREL_ASSIGN_OR_RETURN(loaded.test,
                            data::LoadIdxDataset(DataFile(data, data.test_images()),
                                                 DataFile(data, data.test_labels()), 0, 1));
  }
  if (loaded.train.feature_dim != spec.model().input_dim()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.input_dim is ", spec.model().input_dim(), " but the examples in ", data.path(),
        " have ", loaded.train.feature_dim, " features"));
  }
  return loaded;
}

absl::StatusOr<std::unique_ptr<StepModel>> CreateDenseStepModel(const JobAssignment& assignment,
                                                                kernels::Backend* backend,
                                                                PsClient* ps) {
  const JobSpec& spec = assignment.spec();
  PETREL_ASSIGN_OR_RETURN(DenseData data, LoadDenseData(assignment));
  const int batch = spec.training().batch_size();
  PETREL_ASSIGN_OR_RETURN(auto mlp,
                          model::Mlp::Create(spec.model(), backend, std::max(batch, kEvalChunk)));
  return std::make_unique<DenseStepModel>(std::move(data.train), std::move(data.test),
                                          std::move(mlp), backend, ps, batch);
}

}  // namespace petrel::worker

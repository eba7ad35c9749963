#include "worker/ensemble_step_model.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/jobspec/model_tables.h"
#include "common/status_macros.h"
#include "worker/dense_step_model.h"
#include "worker/model/mlp.h"

namespace petrel::worker {
namespace {

// Member orders use shard numbers from here up; trainer orders use ranks.
constexpr int kMemberShardOffset = 1 << 20;

class EnsembleStepModel : public StepModel {
 public:
  EnsembleStepModel(DenseData data, std::unique_ptr<model::Mlp> mlp, kernels::Backend* backend,
                    PsClient* ps, int members, int batch, uint64_t seed, int rank)
      : train_(std::move(data.train)),
        test_(std::move(data.test)),
        mlp_(std::move(mlp)),
        backend_(backend),
        ps_(ps),
        members_(members),
        tables_per_member_(mlp_->tables().size()),
        member_gradients_(members),
        gradients_(members * tables_per_member_),
        batch_features_(static_cast<size_t>(batch) * train_.feature_dim),
        batch_labels_(batch),
        member_indices_(batch) {
    for (int k = 0; k < members_; ++k) {
      member_orders_.push_back(MemberOrder(train_.num_examples, seed, k, rank));
    }
  }

  int64_t num_examples() const override { return train_.num_examples; }
  std::string Describe() const override {
    return absl::StrCat("ensemble of ", members_, " on ", train_.num_examples, " examples of ",
                        train_.feature_dim, " features, on ", backend_->Description());
  }

  absl::StatusOr<double> Step(int64_t clock, absl::Span<const int64_t> batch) override {
    const int n = static_cast<int>(batch.size());
    PETREL_RETURN_IF_ERROR(PullAll(clock));
    double loss = 0;
    for (int k = 0; k < members_; ++k) {
      for (int i = 0; i < n; ++i) member_indices_[i] = member_orders_[k][batch[i]];
      PETREL_RETURN_IF_ERROR(data::GatherBatch(
          train_, absl::MakeConstSpan(member_indices_).first(n),
          absl::MakeSpan(batch_features_).first(static_cast<size_t>(n) * train_.feature_dim),
          absl::MakeSpan(batch_labels_).first(n)));
      PETREL_RETURN_IF_ERROR(mlp_->SetParameters(MemberParameters(k)));
      PETREL_ASSIGN_OR_RETURN(model::StepResult result,
                              mlp_->ComputeGradients(batch_features_.data(),
                                                     batch_labels_.data(), n,
                                                     &member_gradients_[k]));
      loss += result.loss;
      // Swapping (not copying) keeps every buffer's capacity for the next step.
      for (size_t t = 0; t < tables_per_member_; ++t) {
        std::swap(gradients_[k * tables_per_member_ + t], member_gradients_[k][t]);
      }
    }
    PETREL_RETURN_IF_ERROR(ps_->Push(clock, gradients_));
    return loss / members_;
  }

  absl::StatusOr<double> Evaluate(int64_t clock) override {
    PETREL_RETURN_IF_ERROR(PullAll(clock));
    probabilities_.resize(members_);
    for (int k = 0; k < members_; ++k) {
      PETREL_RETURN_IF_ERROR(mlp_->SetParameters(MemberParameters(k)));
      PETREL_RETURN_IF_ERROR(
          mlp_->Probabilities(test_.features.data(), test_.num_examples, &probabilities_[k]));
    }
    const int classes = static_cast<int>(mlp_->tables().back().shape(0));
    return AverageProbabilitiesAccuracy(probabilities_, test_.labels, classes,
                                        &member_accuracies_);
  }

  std::vector<double> MemberAccuracies() const override { return member_accuracies_; }

 private:
  absl::Status PullAll(int64_t clock) {
    PETREL_RETURN_IF_ERROR(ps_->Pull(clock, &params_));
    if (params_.size() != members_ * tables_per_member_) {
      return absl::FailedPreconditionError(absl::StrCat(
          "ensemble of ", members_, " members of ", tables_per_member_, " tables expects ",
          members_ * tables_per_member_, " tables from the servers, got ", params_.size()));
    }
    return absl::OkStatus();
  }

  // Member k's tables: the shard map lists the members one after another.
  std::vector<absl::Span<const float>> MemberParameters(int k) const {
    auto first = params_.begin() + k * tables_per_member_;
    return {first, first + tables_per_member_};
  }

  const data::Dataset train_, test_;
  const std::unique_ptr<model::Mlp> mlp_;
  kernels::Backend* const backend_;
  PsClient* const ps_;
  const int members_;
  const size_t tables_per_member_;
  std::vector<std::vector<int64_t>> member_orders_;
  std::vector<std::vector<float>> params_;
  std::vector<std::vector<std::vector<float>>> member_gradients_;  // [member][table]
  std::vector<std::vector<float>> gradients_;                      // every member's, pushed
  std::vector<float> batch_features_;
  std::vector<int32_t> batch_labels_;
  std::vector<int64_t> member_indices_;
  std::vector<std::vector<float>> probabilities_;  // [member][example x class]
  std::vector<double> member_accuracies_;
};

}  // namespace

std::vector<int64_t> MemberOrder(int64_t count, uint64_t seed, int member, int rank) {
  return data::ShuffledOrder(count, seed, member, kMemberShardOffset + rank);
}

double AverageProbabilitiesAccuracy(const std::vector<std::vector<float>>& member_probabilities,
                                    const std::vector<int32_t>& labels, int classes,
                                    std::vector<double>* member_accuracies) {
  const size_t count = labels.size();
  member_accuracies->assign(member_probabilities.size(), 0.0);
  if (count == 0 || classes <= 0) return 0;
  std::vector<double> mean(classes);
  int64_t correct = 0;
  for (size_t i = 0; i < count; ++i) {
    std::fill(mean.begin(), mean.end(), 0.0);
    for (size_t k = 0; k < member_probabilities.size(); ++k) {
      const float* row = member_probabilities[k].data() + i * classes;
      if (std::max_element(row, row + classes) - row == labels[i]) (*member_accuracies)[k] += 1;
      for (int c = 0; c < classes; ++c) mean[c] += row[c];
    }
    if (std::max_element(mean.begin(), mean.end()) - mean.begin() == labels[i]) ++correct;
  }
  for (double& accuracy : *member_accuracies) accuracy /= count;
  return static_cast<double>(correct) / count;
}

absl::StatusOr<std::unique_ptr<StepModel>> CreateEnsembleStepModel(
    const JobAssignment& assignment, kernels::Backend* backend, PsClient* ps) {
  const JobSpec& spec = assignment.spec();
  const int members = EnsembleMembers(spec);
  if (members < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("mode ensemble needs ensemble.members >= 2, got ", members));
  }
  PETREL_ASSIGN_OR_RETURN(DenseData data, LoadDenseData(assignment));
  const int batch = spec.training().batch_size();
  PETREL_ASSIGN_OR_RETURN(auto mlp,
                          model::Mlp::Create(spec.model(), backend, std::max(batch, kEvalChunk)));
  return std::make_unique<EnsembleStepModel>(std::move(data), std::move(mlp), backend, ps,
                                             members, batch, spec.training().seed(),
                                             assignment.rank());
}

}  // namespace petrel::worker

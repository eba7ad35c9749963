// EnsembleStepModel against a fake PsClient: each member trains on its own
// order of the shard, all members are pushed at once, and evaluation
// averages the members' probabilities.
#define CATCH_CONFIG_MAIN
#include "worker/ensemble_step_model.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>

#include "common/jobspec/model_tables.h"
#include "kernels/cpu/cpu_backend.h"
#include "worker/data/dataset.h"
#include "worker/model/mlp.h"

namespace petrel::worker {
namespace {

// Serves fixed parameters and records the last push.
class FakePsClient : public PsClient {
 public:
  explicit FakePsClient(std::vector<std::vector<float>> params) : params_(std::move(params)) {}
  absl::Status Pull(int64_t, std::vector<std::vector<float>>* tables, SparseStep*) override {
    *tables = params_;
    ++pulls;
    return absl::OkStatus();
  }
  absl::Status Push(int64_t, const std::vector<std::vector<float>>& gradients,
                    const SparseStep*) override {
    pushed = gradients;
    ++pushes;
    return absl::OkStatus();
  }
  absl::Status Leave(int64_t) override { return absl::OkStatus(); }

  std::vector<std::vector<float>> params_;
  std::vector<std::vector<float>> pushed;
  int pulls = 0, pushes = 0;
};

// A raw (uncompressed) IDX file of unsigned bytes.
std::string WriteIdx(const std::string& name, const std::vector<uint32_t>& dims,
                     const std::vector<uint8_t>& data) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
  std::vector<uint8_t> bytes = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((d >> shift) & 0xff);
  }
  bytes.insert(bytes.end(), data.begin(), data.end());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return path;
}

constexpr int kExamples = 12, kDim = 4, kClasses = 3;

// kExamples images of kDim pixels, label = the brightest of the first
// kClasses pixels; the same file serves as training and test set.
JobAssignment Assignment(int members) {
  std::mt19937 rng(3);
  std::vector<uint8_t> images(kExamples * kDim), labels(kExamples);
  for (int i = 0; i < kExamples; ++i) {
    for (int d = 0; d < kDim; ++d) images[i * kDim + d] = rng() % 256;
    labels[i] = std::max_element(&images[i * kDim], &images[i * kDim] + kClasses) -
                &images[i * kDim];
  }
  WriteIdx("images", {kExamples, 2, 2}, images);
  WriteIdx("labels", {kExamples}, labels);
  JobAssignment assignment;
  JobSpec* spec = assignment.mutable_spec();
  spec->set_mode("ensemble");
  spec->mutable_ensemble()->set_members(members);
  spec->mutable_model()->set_type("softmax");
  spec->mutable_model()->set_input_dim(kDim);
  spec->mutable_model()->set_num_classes(kClasses);
  const char* dir = std::getenv("TEST_TMPDIR");
  spec->mutable_data()->set_path(dir != nullptr ? dir : "/tmp");
  spec->mutable_data()->set_train_images("images");
  spec->mutable_data()->set_train_labels("labels");
  spec->mutable_data()->set_test_images("images");
  spec->mutable_data()->set_test_labels("labels");
  spec->mutable_training()->set_batch_size(4);
  spec->mutable_training()->set_seed(7);
  assignment.set_rank(0);
  assignment.set_num_workers(1);
  return assignment;
}

// Random parameters for every table of the job, in JobTables order.
std::vector<std::vector<float>> RandomParams(const JobSpec& spec) {
  std::mt19937 rng(11);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<std::vector<float>> params;
  for (const DenseTable& table : JobTables(spec)) {
    params.emplace_back(TableSize(table));
    for (float& x : params.back()) x = dist(rng);
  }
  return params;
}

TEST_CASE("member orders are fixed permutations that differ between members") {
  const std::vector<int64_t> a = MemberOrder(100, 1, 0, 0);
  CHECK(a == MemberOrder(100, 1, 0, 0));
  CHECK(std::set<int64_t>(a.begin(), a.end()).size() == 100);
  CHECK(*std::max_element(a.begin(), a.end()) == 99);
  CHECK(a != MemberOrder(100, 1, 1, 0));
  CHECK(a != MemberOrder(100, 1, 0, 1));
  CHECK(a != MemberOrder(100, 2, 0, 0));
}

TEST_CASE("averaged probabilities can beat every member") {
  // Three examples of two classes, all labelled 0. Each member is mildly
  // wrong on one example and confidently right on the others.
  const std::vector<int32_t> labels = {0, 0, 0};
  const std::vector<std::vector<float>> members = {
      {0.4f, 0.6f, 0.9f, 0.1f, 0.9f, 0.1f},
      {0.9f, 0.1f, 0.4f, 0.6f, 0.9f, 0.1f},
      {0.9f, 0.1f, 0.9f, 0.1f, 0.4f, 0.6f},
  };
  std::vector<double> member_accuracies;
  CHECK(AverageProbabilitiesAccuracy(members, labels, 2, &member_accuracies) == 1.0);
  CHECK(member_accuracies == std::vector<double>{2.0 / 3, 2.0 / 3, 2.0 / 3});
}

TEST_CASE("a step pushes each member's gradient on its own batch, once for all") {
  const JobAssignment assignment = Assignment(3);
  FakePsClient ps(RandomParams(assignment.spec()));
  kernels::CpuBackend backend;
  auto model = CreateEnsembleStepModel(assignment, &backend, &ps);
  REQUIRE(model.ok());
  CHECK((*model)->num_examples() == kExamples);

  const std::vector<int64_t> batch = {0, 5, 2, 9};
  auto loss = (*model)->Step(0, batch);
  REQUIRE(loss.ok());
  CHECK(ps.pulls == 1);
  CHECK(ps.pushes == 1);
  REQUIRE(ps.pushed.size() == 6);  // 3 members x (weights, bias)

  // Recompute each member's gradient with a plain Mlp on the member's batch.
  const std::string dir = assignment.spec().data().path();
  auto dataset = data::LoadIdxDataset(dir + "/images", dir + "/labels", 0, 1);
  REQUIRE(dataset.ok());
  auto mlp = model::Mlp::Create(assignment.spec().model(), &backend, 4);
  REQUIRE(mlp.ok());
  double expected_loss = 0;
  std::vector<std::vector<float>> member_pushes[3];
  for (int k = 0; k < 3; ++k) {
    const std::vector<int64_t> order = MemberOrder(kExamples, 7, k, 0);
    std::vector<int64_t> indices;
    for (int64_t i : batch) indices.push_back(order[i]);
    std::vector<float> features(4 * kDim);
    std::vector<int32_t> labels(4);
    REQUIRE(data::GatherBatch(*dataset, indices, absl::MakeSpan(features), absl::MakeSpan(labels))
                .ok());
    REQUIRE((*mlp)->SetParameters({ps.params_[2 * k], ps.params_[2 * k + 1]}).ok());
    std::vector<std::vector<float>> gradients;
    auto step = (*mlp)->ComputeGradients(features.data(), labels.data(), 4, &gradients);
    REQUIRE(step.ok());
    expected_loss += step->loss / 3;
    for (int t = 0; t < 2; ++t) {
      REQUIRE(gradients[t].size() == ps.pushed[2 * k + t].size());
      for (size_t i = 0; i < gradients[t].size(); ++i) {
        CHECK(ps.pushed[2 * k + t][i] == Approx(gradients[t][i]).margin(1e-6));
      }
    }
    member_pushes[k] = {ps.pushed[2 * k], ps.pushed[2 * k + 1]};
  }
  CHECK(*loss == Approx(expected_loss));
  CHECK(member_pushes[0] != member_pushes[1]);  // different batches, parameters

  // A second step reuses the buffers and still pushes every member.
  REQUIRE((*model)->Step(1, batch).ok());
  CHECK(ps.pushed.size() == 6);
}

TEST_CASE("evaluation reports the ensemble and each member") {
  const JobAssignment assignment = Assignment(2);
  FakePsClient ps(RandomParams(assignment.spec()));
  kernels::CpuBackend backend;
  auto model = CreateEnsembleStepModel(assignment, &backend, &ps);
  REQUIRE(model.ok());
  CHECK((*model)->MemberAccuracies().empty());
  auto accuracy = (*model)->Evaluate(0);
  REQUIRE(accuracy.ok());
  const std::vector<double> members = (*model)->MemberAccuracies();
  REQUIRE(members.size() == 2);

  // Each member's accuracy is a plain Mlp::Evaluate of its tables.
  const std::string dir = assignment.spec().data().path();
  auto dataset = data::LoadIdxDataset(dir + "/images", dir + "/labels", 0, 1);
  REQUIRE(dataset.ok());
  auto mlp = model::Mlp::Create(assignment.spec().model(), &backend, 16);
  REQUIRE(mlp.ok());
  for (int k = 0; k < 2; ++k) {
    REQUIRE((*mlp)->SetParameters({ps.params_[2 * k], ps.params_[2 * k + 1]}).ok());
    auto eval = (*mlp)->Evaluate(dataset->features.data(), dataset->labels.data(), kExamples);
    REQUIRE(eval.ok());
    CHECK(members[k] == Approx(eval->accuracy));
  }
  CHECK(*accuracy >= 0.0);
  CHECK(*accuracy <= 1.0);
}

TEST_CASE("the wrong number of tables from the servers is refused") {
  const JobAssignment assignment = Assignment(2);
  std::vector<std::vector<float>> params = RandomParams(assignment.spec());
  params.pop_back();
  FakePsClient ps(params);
  kernels::CpuBackend backend;
  auto model = CreateEnsembleStepModel(assignment, &backend, &ps);
  REQUIRE(model.ok());
  auto step = (*model)->Step(0, std::vector<int64_t>{0, 1});
  CHECK(step.status().code() == absl::StatusCode::kFailedPrecondition);
  JobAssignment one = assignment;
  one.mutable_spec()->mutable_ensemble()->set_members(1);
  CHECK(CreateEnsembleStepModel(one, &backend, &ps).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace petrel::worker

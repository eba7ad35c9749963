#define CATCH_CONFIG_MAIN
#include "worker/model/mlp.h"

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "common/jobspec/model_tables.h"
#include "kernels/cpu/cpu_backend.h"

namespace petrel::model {
namespace {

ModelSpec Spec(const std::string& type, int input, std::vector<int> hidden, int classes) {
  ModelSpec spec;
  spec.set_type(type);
  spec.set_input_dim(input);
  for (int h : hidden) spec.add_hidden(h);
  spec.set_num_classes(classes);
  return spec;
}

std::vector<std::vector<float>> RandomParameters(const ModelSpec& spec, std::mt19937* rng) {
  std::normal_distribution<float> dist(0.0f, 0.7f);
  std::vector<std::vector<float>> params;
  for (const DenseTable& table : ModelTables(spec)) {
    params.emplace_back(TableSize(table));
    for (float& x : params.back()) x = dist(*rng);
  }
  return params;
}

std::vector<absl::Span<const float>> Spans(const std::vector<std::vector<float>>& tables) {
  return std::vector<absl::Span<const float>>(tables.begin(), tables.end());
}

// Checks each table's analytic gradient against central differences of the
// mean loss.
void CheckGradients(const ModelSpec& spec, int batch) {
  kernels::CpuBackend backend;
  auto mlp = Mlp::Create(spec, &backend, batch);
  REQUIRE(mlp.ok());
  std::mt19937 rng(1234);
  auto params = RandomParameters(spec, &rng);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> features(batch * spec.input_dim());
  for (float& x : features) x = dist(rng);
  std::vector<int32_t> labels(batch);
  for (int i = 0; i < batch; ++i) labels[i] = i % spec.num_classes();

  REQUIRE((*mlp)->SetParameters(Spans(params)).ok());
  std::vector<std::vector<float>> grads;
  auto step = (*mlp)->ComputeGradients(features.data(), labels.data(), batch, &grads);
  REQUIRE(step.ok());
  REQUIRE(grads.size() == params.size());
  // The step's loss is the forward loss.
  CHECK(step->loss == Approx((*mlp)->Evaluate(features.data(), labels.data(), batch)->loss));

  auto loss_at = [&](size_t t, size_t i, float value) {
    auto perturbed = params;
    perturbed[t][i] = value;
    REQUIRE((*mlp)->SetParameters(Spans(perturbed)).ok());
    return (*mlp)->Evaluate(features.data(), labels.data(), batch)->loss;
  };
  const float eps = 1e-2f;
  const auto tables = ModelTables(spec);
  for (size_t t = 0; t < params.size(); ++t) {
    REQUIRE(grads[t].size() == params[t].size());
    double diff2 = 0, norm2 = 0;
    for (size_t i = 0; i < params[t].size(); ++i) {
      const float x = params[t][i];
      const double numeric = (loss_at(t, i, x + eps) - loss_at(t, i, x - eps)) / (2.0 * eps);
      diff2 += (grads[t][i] - numeric) * (grads[t][i] - numeric);
      norm2 += numeric * numeric;
      INFO(tables[t].name() << "[" << i << "]");
      CHECK(grads[t][i] == Approx(numeric).epsilon(0.05).margin(2e-3));
    }
    INFO(tables[t].name());
    CHECK(std::sqrt(diff2) <= 1e-2 * std::sqrt(norm2) + 1e-5);
  }
}

TEST_CASE("MLP gradients match finite differences") {
  CheckGradients(Spec("mlp", 5, {4, 3}, 3), 6);
}

TEST_CASE("Softmax gradients match finite differences") {
  CheckGradients(Spec("softmax", 5, {}, 4), 6);
}

TEST_CASE("SGD on a separable problem lowers the loss and raises accuracy") {
  for (const ModelSpec& spec : {Spec("softmax", 2, {}, 3), Spec("mlp", 2, {8}, 3)}) {
    INFO(spec.type());
    kernels::CpuBackend backend;
    const int n = 60;
    auto mlp = Mlp::Create(spec, &backend, 16);  // smaller than n: Evaluate chunks
    REQUIRE(mlp.ok());
    // Three clusters around well-separated centres.
    const float centres[3][2] = {{2, 0}, {-1, 2}, {-1, -2}};
    std::mt19937 rng(5);
    std::normal_distribution<float> noise(0.0f, 0.3f);
    std::vector<float> features;
    std::vector<int32_t> labels;
    for (int i = 0; i < n; ++i) {
      labels.push_back(i % 3);
      features.push_back(centres[i % 3][0] + noise(rng));
      features.push_back(centres[i % 3][1] + noise(rng));
    }
    auto params = RandomParameters(spec, &rng);
    for (auto& table : params) {
      for (float& x : table) x *= 0.1f;
    }
    REQUIRE((*mlp)->SetParameters(Spans(params)).ok());
    auto before = (*mlp)->Evaluate(features.data(), labels.data(), n);
    REQUIRE(before.ok());
    CHECK(before->count == n);

    std::vector<std::vector<float>> grads;
    for (int step = 0; step < 100; ++step) {
      const int begin = (step * 12) % (n - 12);
      REQUIRE((*mlp)->ComputeGradients(&features[begin * 2], &labels[begin], 12, &grads).ok());
      for (size_t t = 0; t < params.size(); ++t) {
        for (size_t i = 0; i < params[t].size(); ++i) params[t][i] -= 0.3f * grads[t][i];
      }
      REQUIRE((*mlp)->SetParameters(Spans(params)).ok());
    }
    auto after = (*mlp)->Evaluate(features.data(), labels.data(), n);
    REQUIRE(after.ok());
    CHECK(after->loss < 0.3 * before->loss);
    CHECK(after->accuracy >= 0.95);
  }
}

TEST_CASE("Probabilities are the softmax of the logits and agree with Evaluate") {
  kernels::CpuBackend backend;
  const ModelSpec spec = Spec("mlp", 6, {5}, 4);
  const int count = 7;  // more than one chunk of max_batch 3
  auto mlp = Mlp::Create(spec, &backend, 3);
  REQUIRE(mlp.ok());
  std::mt19937 rng(5);
  auto params = RandomParameters(spec, &rng);
  REQUIRE((*mlp)->SetParameters(Spans(params)).ok());
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> features(count * spec.input_dim());
  for (float& x : features) x = dist(rng);

  std::vector<float> probabilities;
  REQUIRE((*mlp)->Probabilities(features.data(), count, &probabilities).ok());
  REQUIRE(probabilities.size() == static_cast<size_t>(count * spec.num_classes()));
  // Label each example with its arg-max: Evaluate must then score 100%, and
  // its mean loss is the mean of -log p(label).
  std::vector<int32_t> labels(count);
  double loss = 0;
  for (int i = 0; i < count; ++i) {
    const float* row = probabilities.data() + i * spec.num_classes();
    double sum = 0;
    for (int c = 0; c < spec.num_classes(); ++c) {
      CHECK(row[c] > 0.0f);
      sum += row[c];
    }
    CHECK(sum == Approx(1.0).epsilon(1e-5));
    labels[i] = static_cast<int32_t>(std::max_element(row, row + spec.num_classes()) - row);
    loss -= std::log(row[labels[i]]);
  }
  auto eval = (*mlp)->Evaluate(features.data(), labels.data(), count);
  REQUIRE(eval.ok());
  CHECK(eval->accuracy == 1.0);
  CHECK(eval->loss == Approx(loss / count).epsilon(1e-4));
}

TEST_CASE("SetParameters refuses a wrong size, naming the table") {
  kernels::CpuBackend backend;
  const ModelSpec spec = Spec("mlp", 5, {4}, 3);
  auto mlp = Mlp::Create(spec, &backend, 4);
  REQUIRE(mlp.ok());
  std::mt19937 rng(9);
  auto params = RandomParameters(spec, &rng);
  params[3].push_back(0);  // layer1/bias
  auto status = (*mlp)->SetParameters(Spans(params));
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()),
             Catch::Contains("layer1/bias") && Catch::Contains("expected 3"));
  params.pop_back();
  status = (*mlp)->SetParameters(Spans(params));
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()), Catch::Contains("expected 4 tables"));
}

TEST_CASE("Misuse is refused with a clear status") {
  kernels::CpuBackend backend;
  CHECK(Mlp::Create(Spec("cnn", 5, {}, 3), &backend, 4).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Mlp::Create(Spec("softmax", 5, {4}, 3), &backend, 4).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Mlp::Create(Spec("mlp", 5, {0}, 3), &backend, 4).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(Mlp::Create(Spec("mlp", 5, {4}, 3), &backend, 0).status().code() ==
        absl::StatusCode::kInvalidArgument);

  const ModelSpec spec = Spec("softmax", 2, {}, 2);
  auto mlp = Mlp::Create(spec, &backend, 2);
  REQUIRE(mlp.ok());
  const std::vector<float> features(6, 0.5f);
  const std::vector<int32_t> labels = {0, 1, 5};
  std::vector<std::vector<float>> grads;
  CHECK((*mlp)->ComputeGradients(features.data(), labels.data(), 2, &grads).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  std::mt19937 rng(2);
  auto params = RandomParameters(spec, &rng);
  REQUIRE((*mlp)->SetParameters(Spans(params)).ok());
  CHECK((*mlp)->ComputeGradients(features.data(), labels.data(), 3, &grads).status().code() ==
        absl::StatusCode::kInvalidArgument);
  auto bad_label = (*mlp)->Evaluate(features.data(), labels.data(), 3);
  CHECK(bad_label.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(bad_label.status().message()), Catch::Contains("label 5"));
  auto empty = (*mlp)->Evaluate(features.data(), labels.data(), 0);
  REQUIRE(empty.ok());
  CHECK(empty->count == 0);
}

}  // namespace
}  // namespace petrel::model

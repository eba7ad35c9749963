#define CATCH_CONFIG_MAIN
#include "worker/model/sparse_logistic.h"

#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "worker/data/libsvm_reader.h"

namespace petrel::model {
namespace {

data::SparseExample Example(int32_t label, std::vector<uint64_t> keys,
                            std::vector<float> values) {
  data::SparseExample example;
  example.label = label;
  example.keys = std::move(keys);
  example.values = std::move(values);
  return example;
}

std::vector<int64_t> AllExamples(const data::SparseDataset& data) {
  std::vector<int64_t> examples(data.num_examples());
  std::iota(examples.begin(), examples.end(), 0);
  return examples;
}

// `n` examples with 1..5 distinct keys each out of `key_space` (spread out
// so they are not 0..key_space), random values and labels.
data::SparseDataset RandomDataset(int n, int key_space, std::mt19937* rng) {
  std::uniform_int_distribution<int> count(1, 5);
  std::uniform_int_distribution<int> key(0, key_space - 1);
  std::normal_distribution<float> value(0, 1);
  std::bernoulli_distribution label(0.5);
  data::SparseDataset data;
  for (int i = 0; i < n; ++i) {
    data::SparseExample example;
    example.label = label(*rng) ? 1 : 0;
    const int c = count(*rng);
    while (static_cast<int>(example.keys.size()) < c) {
      const uint64_t k = 1000003ull * key(*rng) + 7;
      if (std::find(example.keys.begin(), example.keys.end(), k) !=
          example.keys.end()) {
        continue;
      }
      example.keys.push_back(k);
      example.values.push_back(value(*rng));
    }
    data.Append(example);
  }
  return data;
}

TEST_CASE("UniqueKeys gives the sorted distinct keys of the chosen examples") {
  data::SparseDataset data;
  data.Append(Example(1, {9, 3, 5}, {1, 1, 1}));
  data.Append(Example(0, {5, 100}, {1, 1}));
  data.Append(Example(1, {42}, {1}));
  data.Append(Example(0, {}, {}));
  std::vector<uint64_t> keys = {77};  // replaced, not appended to
  const std::vector<int64_t> first_two = {1, 0};
  SparseLogistic::UniqueKeys(data, first_two, &keys);
  CHECK(keys == std::vector<uint64_t>{3, 5, 9, 100});
  const std::vector<int64_t> others = {3, 2, 2};
  SparseLogistic::UniqueKeys(data, others, &keys);
  CHECK(keys == std::vector<uint64_t>{42});
  SparseLogistic::UniqueKeys(data, {}, &keys);
  CHECK(keys.empty());
}

TEST_CASE("gradients match central finite differences") {
  std::mt19937 rng(7);
  const data::SparseDataset data = RandomDataset(40, 30, &rng);
  const std::vector<int64_t> examples = {0, 3, 5, 8, 13, 21, 34, 39, 2, 17};
  std::vector<uint64_t> keys;
  SparseLogistic::UniqueKeys(data, examples, &keys);
  std::normal_distribution<float> init(0, 0.5);
  std::vector<float> weights(keys.size());
  for (float& w : weights) w = init(rng);
  const float bias = 0.3f;

  std::vector<float> grad;
  float grad_bias = 0;
  absl::StatusOr<SparseLogistic::StepResult> step = SparseLogistic::ComputeGradients(
      data, examples, keys, weights, bias, &grad, &grad_bias);
  REQUIRE(step.ok());
  REQUIRE(grad.size() == keys.size());

  auto loss = [&](const std::vector<float>& w, float b) {
    absl::StatusOr<SparseLogistic::EvalResult> eval =
        SparseLogistic::Evaluate(data, examples, keys, w, b);
    REQUIRE(eval.ok());
    return eval->loss;
  };
  CHECK(loss(weights, bias) == Approx(step->loss).epsilon(1e-9));

  const float eps = 1e-2f;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::vector<float> plus = weights, minus = weights;
    plus[i] += eps;
    minus[i] -= eps;
    const double numeric =
        (loss(plus, bias) - loss(minus, bias)) / (plus[i] - minus[i]);
    INFO("key " << keys[i]);
    CHECK(grad[i] == Approx(numeric).margin(2e-4));
  }
  const double numeric_bias =
      (loss(weights, bias + eps) - loss(weights, bias - eps)) /
      ((bias + eps) - (bias - eps));
  CHECK(grad_bias == Approx(numeric_bias).margin(2e-4));
}

TEST_CASE("log loss is finite for huge logits") {
  data::SparseDataset data;
  data.Append(Example(1, {1}, {1}));
  data.Append(Example(0, {1}, {1}));
  const std::vector<uint64_t> keys = {1};
  const std::vector<float> weights = {1000};
  const std::vector<int64_t> examples = {0, 1};
  std::vector<float> grad;
  float grad_bias = 0;
  absl::StatusOr<SparseLogistic::StepResult> step = SparseLogistic::ComputeGradients(
      data, examples, keys, weights, 0, &grad, &grad_bias);
  REQUIRE(step.ok());
  // Example 0: loss ~0; example 1: loss ~1000. Mean ~500.
  CHECK(step->loss == Approx(500).epsilon(1e-6));
  CHECK(step->correct == 1);
  CHECK(grad[0] == Approx(0.5f));  // (0 + 1) / 2
  CHECK(grad_bias == Approx(0.5f));
}

TEST_CASE("SGD separates a tiny sparse problem") {
  // Key 10 marks class 1, key 20 class 0; keys 100..104 are shared noise.
  data::SparseDataset data;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> noise(100, 104);
  for (int i = 0; i < 40; ++i) {
    const int32_t label = i % 2;
    const uint64_t n = noise(rng);
    data.Append(Example(label, {label == 1 ? 10u : 20u, n}, {1.0f, 1.0f}));
  }
  const std::vector<int64_t> examples = AllExamples(data);
  std::vector<uint64_t> keys;
  SparseLogistic::UniqueKeys(data, examples, &keys);
  std::vector<float> weights(keys.size(), 0.0f);
  float bias = 0;

  absl::StatusOr<SparseLogistic::EvalResult> before =
      SparseLogistic::Evaluate(data, examples, keys, weights, bias);
  REQUIRE(before.ok());
  CHECK(before->loss == Approx(std::log(2.0)));
  CHECK(before->count == 40);

  std::vector<float> grad;
  float grad_bias = 0;
  for (int step = 0; step < 200; ++step) {
    REQUIRE(SparseLogistic::ComputeGradients(data, examples, keys, weights,
                                             bias, &grad, &grad_bias)
                .ok());
    for (size_t i = 0; i < weights.size(); ++i) weights[i] -= 1.0f * grad[i];
    bias -= 1.0f * grad_bias;
  }
  absl::StatusOr<SparseLogistic::EvalResult> after =
      SparseLogistic::Evaluate(data, examples, keys, weights, bias);
  REQUIRE(after.ok());
  CHECK(after->accuracy == 1.0);
  CHECK(after->loss < 0.1);
  CHECK(after->count == 40);
}

TEST_CASE("bad inputs are INVALID_ARGUMENT") {
  data::SparseDataset data;
  data.Append(Example(1, {1, 2}, {1, 1}));
  data.Append(Example(2, {1}, {1}));
  const std::vector<uint64_t> keys = {1, 2};
  const std::vector<float> weights = {0, 0};
  std::vector<float> grad;
  float grad_bias = 0;
  auto step = [&](std::vector<int64_t> examples, std::vector<uint64_t> k,
                  std::vector<float> w) {
    return SparseLogistic::ComputeGradients(data, examples, k, w, 0, &grad,
                                            &grad_bias)
        .status();
  };
  CHECK(step({0}, keys, weights).ok());

  absl::Status status = step({1}, keys, weights);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(status.message(), "label 2"));
  CHECK(SparseLogistic::Evaluate(data, std::vector<int64_t>{0, 1}, keys,
                                 weights, 0)
            .status()
            .code() == absl::StatusCode::kInvalidArgument);

  CHECK(step({0}, {1}, {0}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(step({0}, keys, {0}).code() == absl::StatusCode::kInvalidArgument);
  CHECK(step({0}, {2, 1}, weights).code() == absl::StatusCode::kInvalidArgument);
  CHECK(step({5}, keys, weights).code() == absl::StatusCode::kInvalidArgument);

  absl::StatusOr<SparseLogistic::EvalResult> empty =
      SparseLogistic::Evaluate(data, {}, keys, weights, 0);
  REQUIRE(empty.ok());
  CHECK(empty->count == 0);
  CHECK(empty->loss == 0);
}

}  // namespace
}  // namespace petrel::model

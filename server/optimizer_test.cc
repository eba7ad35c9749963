#define CATCH_CONFIG_MAIN
#include "server/optimizer.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/types/span.h"
#include "catch2/catch.hpp"

namespace petrel::server {
namespace {

constexpr int kParams = 1000;
constexpr int kSteps = 20;

OptimizerSpec Spec(const std::string& type, float lr, float momentum, float weight_decay) {
  OptimizerSpec spec;
  spec.set_type(type);
  spec.set_learning_rate(lr);
  spec.set_momentum(momentum);
  spec.set_weight_decay(weight_decay);
  return spec;
}

// Runs `spec`'s optimizer and a plain double-precision reference of the
// documented update over the same 20 random gradients, and checks every
// parameter agrees to 1e-6 relative after every step.
void CheckAgainstReference(const OptimizerSpec& spec) {
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(spec);
  REQUIRE(optimizer.ok());
  const bool momentum = spec.type() == "momentum";
  REQUIRE((*optimizer)->StateSlots() == (momentum ? 1 : 0));

  std::mt19937 rng(12345);
  // Magnitudes in [0.5, 1.5] keep the parameters away from 0, where a
  // relative comparison would only measure float rounding.
  std::uniform_real_distribution<float> magnitude(0.5f, 1.5f);
  std::uniform_real_distribution<float> gradient_value(-1.0f, 1.0f);
  std::vector<float> params(kParams);
  for (float& p : params) p = (rng() % 2 ? 1.0f : -1.0f) * magnitude(rng);
  std::vector<float> state(kParams * (*optimizer)->StateSlots(), 0.0f);

  // The reference, in double, from the same (float) hyperparameters.
  const double lr = spec.learning_rate();
  const double mu = spec.momentum();
  const double wd = spec.weight_decay();
  std::vector<double> ref_p(params.begin(), params.end());
  std::vector<double> ref_v(kParams, 0.0);

  for (int step = 0; step < kSteps; ++step) {
    std::vector<float> gradient(kParams);
    for (float& g : gradient) g = gradient_value(rng);
    (*optimizer)->Apply(absl::MakeSpan(params), gradient, absl::MakeSpan(state));
    for (int i = 0; i < kParams; ++i) {
      const double g = gradient[i] + wd * ref_p[i];
      if (momentum) {
        ref_v[i] = mu * ref_v[i] + g;
        ref_p[i] -= lr * ref_v[i];
      } else {
        ref_p[i] -= lr * g;
      }
    }
    double worst = 0;
    for (int i = 0; i < kParams; ++i) {
      worst = std::max(worst, std::abs(params[i] - ref_p[i]) / std::abs(ref_p[i]));
    }
    INFO("step " << step << ": worst relative error " << worst);
    REQUIRE(worst <= 1e-6);
  }
}

TEST_CASE("sgd matches the reference update") {
  CheckAgainstReference(Spec("sgd", 0.01f, 0.0f, 0.0f));
}

TEST_CASE("sgd with weight decay matches the reference update") {
  CheckAgainstReference(Spec("sgd", 0.01f, 0.0f, 0.05f));
}

TEST_CASE("momentum matches the reference update") {
  CheckAgainstReference(Spec("momentum", 0.01f, 0.9f, 0.0f));
}

TEST_CASE("momentum with weight decay matches the reference update") {
  CheckAgainstReference(Spec("momentum", 0.01f, 0.9f, 0.05f));
}

TEST_CASE("an unknown optimizer is refused, naming it") {
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer(Spec("adamw", 0.01f, 0.0f, 0.0f));
  REQUIRE_FALSE(optimizer.ok());
  CHECK(optimizer.status().code() == absl::StatusCode::kInvalidArgument);
  INFO(optimizer.status().ToString());
  CHECK(absl::StrContains(optimizer.status().message(), "\"adamw\""));
}

TEST_CASE("an empty optimizer type is refused") {
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer(Spec("", 0.01f, 0.0f, 0.0f));
  REQUIRE_FALSE(optimizer.ok());
  CHECK(optimizer.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace petrel::server

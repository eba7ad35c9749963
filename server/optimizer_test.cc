#define CATCH_CONFIG_MAIN
#include "server/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
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

OptimizerSpec AdagradSpec(float lr, float initial, float epsilon, float weight_decay) {
  OptimizerSpec spec = Spec("adagrad", lr, 0, weight_decay);
  spec.set_initial_accumulator_value(initial);
  spec.set_epsilon(epsilon);
  return spec;
}

OptimizerSpec AdamSpec(float lr, float beta1, float beta2, float epsilon, float weight_decay) {
  OptimizerSpec spec = Spec("adam", lr, 0, weight_decay);
  spec.set_beta1(beta1);
  spec.set_beta2(beta2);
  spec.set_epsilon(epsilon);
  return spec;
}

OptimizerSpec FtrlSpec(float alpha, float beta, float l1, float l2) {
  OptimizerSpec spec = Spec("ftrl", alpha, 0, 0);
  spec.set_beta(beta);
  spec.set_l1(l1);
  spec.set_l2(l2);
  return spec;
}

std::unique_ptr<Optimizer> Create(const OptimizerSpec& spec) {
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(spec);
  INFO(optimizer.status().ToString());
  REQUIRE(optimizer.ok());
  return *std::move(optimizer);
}

// One step of the reference update for parameter `p` with gradient `g`; `s`
// is that parameter's reference state (kRefSlots doubles, zero at first).
constexpr int kRefSlots = 3;
using ReferenceStep = std::function<void(double g, double& p, double* s)>;

// The documented update rules of server/optimizer.h, written plainly in
// double from the spec's (float) hyperparameters.
ReferenceStep Reference(const OptimizerSpec& spec) {
  const double lr = spec.learning_rate(), wd = spec.weight_decay();
  const double mu = spec.momentum();
  const double b1 = spec.beta1(), b2 = spec.beta2(), eps = spec.epsilon();
  const double a0 = spec.initial_accumulator_value();
  const double beta = spec.beta(), l1 = spec.l1(), l2 = spec.l2();
  const std::string type = spec.type();
  if (type == "sgd") return [=](double g, double& p, double*) { p -= lr * (g + wd * p); };
  if (type == "momentum") {
    return [=](double g, double& p, double* s) {
      s[0] = mu * s[0] + (g + wd * p);
      p -= lr * s[0];
    };
  }
  if (type == "adagrad") {
    return [=](double g, double& p, double* s) {
      double& acc = s[0];
      if (s[1] == 0) acc = a0, s[1] = 1;  // a plain "initialised" flag
      g += wd * p;
      acc += g * g;
      p -= lr * g / (std::sqrt(acc) + eps);
    };
  }
  if (type == "adam") {
    return [=](double g, double& p, double* s) {
      double &m = s[0], &v = s[1], &t = s[2];
      g += wd * p;
      t += 1;
      m = b1 * m + (1 - b1) * g;
      v = b2 * v + (1 - b2) * g * g;
      const double m_hat = m / (1 - std::pow(b1, t));
      const double v_hat = v / (1 - std::pow(b2, t));
      p -= lr * m_hat / (std::sqrt(v_hat) + eps);
    };
  }
  REQUIRE(type == "ftrl");
  return [=](double g, double& p, double* s) {
    double &z = s[0], &n = s[1];
    const double sigma = (std::sqrt(n + g * g) - std::sqrt(n)) / lr;
    z += g - sigma * p;
    n += g * g;
    p = std::abs(z) <= l1 ? 0.0
                          : -(z - (z > 0 ? l1 : -l1)) / ((beta + std::sqrt(n)) / lr + l2);
  };
}

// Runs `spec`'s optimizer and the double reference over the same 20 random
// gradients (uniform in [-1, 1]) on 1000 parameters starting uniform in
// [-1, 1], and after every step checks each parameter p against the
// reference r with
//     |p - r| <= 1e-6 * max(|r|, 1)
// i.e. 1e-6 relative for |r| >= 1 and 1e-6 absolute below, where a relative
// bound would only measure float rounding of values near 0 (a float near 1
// is already 6e-8 from the next one, and 20 steps accumulate that). Returns
// the worst scaled error seen, so callers can see the margin.
double CheckAgainstReference(const OptimizerSpec& spec, int expected_slots) {
  std::unique_ptr<Optimizer> optimizer = Create(spec);
  REQUIRE(optimizer->StateSlots() == expected_slots);
  const ReferenceStep reference = Reference(spec);

  std::mt19937 rng(12345);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> params(kParams);
  for (float& p : params) p = uniform(rng);
  std::vector<float> state(kParams * optimizer->StateSlots(), 0.0f);
  std::vector<double> ref_p(params.begin(), params.end());
  std::vector<double> ref_s(kParams * kRefSlots, 0.0);

  double worst_overall = 0;
  for (int step = 0; step < kSteps; ++step) {
    std::vector<float> gradient(kParams);
    for (float& g : gradient) g = uniform(rng);
    optimizer->Apply(absl::MakeSpan(params), gradient, absl::MakeSpan(state));
    for (int i = 0; i < kParams; ++i) {
      reference(gradient[i], ref_p[i], &ref_s[i * kRefSlots]);
    }
    double worst = 0;
    int worst_at = 0;
    for (int i = 0; i < kParams; ++i) {
      const double error =
          std::abs(params[i] - ref_p[i]) / std::max(std::abs(ref_p[i]), 1.0);
      if (error > worst) worst = error, worst_at = i;
    }
    INFO(spec.type() << " step " << step << ": worst scaled error " << worst
                     << " at parameter " << worst_at << " (" << params[worst_at]
                     << " vs " << ref_p[worst_at] << ")");
    REQUIRE(worst <= 1e-6);
    worst_overall = std::max(worst_overall, worst);
  }
  return worst_overall;
}

TEST_CASE("sgd matches the reference update") {
  CheckAgainstReference(Spec("sgd", 0.01f, 0.0f, 0.0f), 0);
  CheckAgainstReference(Spec("sgd", 0.01f, 0.0f, 0.05f), 0);
}

TEST_CASE("momentum matches the reference update") {
  CheckAgainstReference(Spec("momentum", 0.01f, 0.9f, 0.0f), 1);
  CheckAgainstReference(Spec("momentum", 0.01f, 0.9f, 0.05f), 1);
}

TEST_CASE("adagrad matches the reference update") {
  CheckAgainstReference(AdagradSpec(0.05f, 0.1f, 1e-10f, 0.0f), 1);
  CheckAgainstReference(AdagradSpec(0.05f, 0.1f, 1e-10f, 0.01f), 1);
  // Initial accumulator 0: the first step is lr * sign(g), the hardest case.
  CheckAgainstReference(AdagradSpec(0.05f, 0.0f, 1e-10f, 0.0f), 1);
}

TEST_CASE("adam matches the bias-corrected reference update") {
  CheckAgainstReference(AdamSpec(0.01f, 0.9f, 0.999f, 1e-8f, 0.0f), 3);
  CheckAgainstReference(AdamSpec(0.01f, 0.9f, 0.999f, 1e-8f, 0.01f), 3);
  CheckAgainstReference(AdamSpec(0.001f, 0.5f, 0.9f, 1e-3f, 0.0f), 3);
}

TEST_CASE("ftrl matches the reference update") {
  CheckAgainstReference(FtrlSpec(0.1f, 1.0f, 0.0f, 0.0f), 2);
  CheckAgainstReference(FtrlSpec(0.1f, 1.0f, 0.5f, 0.1f), 2);
  CheckAgainstReference(FtrlSpec(0.5f, 0.0f, 0.0f, 1.0f), 2);
}

TEST_CASE("adam is lazy: a sub-span advances only its own moments and step") {
  const OptimizerSpec spec = AdamSpec(0.01f, 0.9f, 0.999f, 1e-8f, 0.0f);
  std::unique_ptr<Optimizer> adam = Create(spec);
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> params(kParams);
  for (float& p : params) p = uniform(rng);
  std::vector<float> state(3 * kParams, 0.0f);
  std::vector<float> gradient(kParams);
  for (float& g : gradient) g = uniform(rng);
  adam->Apply(absl::MakeSpan(params), gradient, absl::MakeSpan(state));

  // Two more steps on [100, 300) only; the same on a fresh copy of that part.
  constexpr int kLo = 100, kHi = 300;
  const std::vector<float> params_before = params, state_before = state;
  std::vector<float> part(params.begin() + kLo, params.begin() + kHi);
  std::vector<float> part_state(state.begin() + 3 * kLo, state.begin() + 3 * kHi);
  for (int step = 0; step < 2; ++step) {
    std::vector<float> g(kHi - kLo);
    for (float& x : g) x = uniform(rng);
    adam->Apply(absl::MakeSpan(params.data() + kLo, kHi - kLo), g,
                absl::MakeSpan(state.data() + 3 * kLo, 3 * (kHi - kLo)));
    adam->Apply(absl::MakeSpan(part), g, absl::MakeSpan(part_state));
  }
  for (int i = 0; i < kParams; ++i) {
    INFO("parameter " << i);
    const bool pushed = kLo <= i && i < kHi;
    CHECK(state[3 * i + 2] == (pushed ? 3.0f : 1.0f));  // its own step count
    if (pushed) {
      CHECK(params[i] == part[i - kLo]);
      CHECK(state[3 * i] == part_state[3 * (i - kLo)]);
      CHECK(state[3 * i + 1] == part_state[3 * (i - kLo) + 1]);
      CHECK(params[i] != params_before[i]);
    } else {
      CHECK(params[i] == params_before[i]);
      CHECK(state[3 * i] == state_before[3 * i]);
      CHECK(state[3 * i + 1] == state_before[3 * i + 1]);
    }
  }

  // A later whole-table step corrects each part with its own t: parameter
  // 0 (t = 2) and parameter 100 (t = 4) match Adam's reference at that t.
  const ReferenceStep reference = Reference(spec);
  double p0 = params[0], p100 = params[kLo];
  double s0[kRefSlots] = {state[0], state[1], state[2]};
  double s100[kRefSlots] = {state[3 * kLo], state[3 * kLo + 1], state[3 * kLo + 2]};
  std::vector<float> g(kParams, 0.25f);
  adam->Apply(absl::MakeSpan(params), g, absl::MakeSpan(state));
  reference(0.25f, p0, s0);
  reference(0.25f, p100, s100);
  CHECK(state[2] == 2.0f);
  CHECK(state[3 * kLo + 2] == 4.0f);
  CHECK(params[0] == Approx(p0).epsilon(1e-6));
  CHECK(params[kLo] == Approx(p100).epsilon(1e-6));
}

TEST_CASE("ftrl with l1 > 0 makes small-gradient coordinates exactly zero") {
  std::unique_ptr<Optimizer> ftrl = Create(FtrlSpec(1.0f, 1.0f, 1.0f, 0.0f));
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> params(kParams);
  for (float& p : params) p = uniform(rng);  // glorot-like non-zero start
  std::vector<float> state(2 * kParams, 0.0f);
  // Even coordinates see noise of at most 0.01; odd ones the gradient of
  // (w - 2)^2 / 2, a loss that wants them at 2.
  for (int step = 0; step < kSteps; ++step) {
    std::vector<float> gradient(kParams);
    for (int i = 0; i < kParams; ++i) {
      gradient[i] = i % 2 == 0 ? 0.01f * uniform(rng) : params[i] - 2.0f;
    }
    ftrl->Apply(absl::MakeSpan(params), gradient, absl::MakeSpan(state));
  }
  int zeros = 0, nonzeros = 0;
  for (int i = 0; i < kParams; ++i) {
    if (i % 2 == 0) {
      zeros += params[i] == 0.0f;  // exactly 0, not merely small
    } else {
      nonzeros += params[i] > 0.5f;  // on their way to 2
    }
  }
  CHECK(zeros == kParams / 2);
  CHECK(nonzeros == kParams / 2);
}

TEST_CASE("zero state means adagrad's initial accumulator") {
  // One step from zero state with accumulator 0.1 and g = 0.3:
  // a = 0.1 + 0.09 = 0.19, p = 1 - 0.1 * 0.3 / sqrt(0.19).
  std::unique_ptr<Optimizer> adagrad = Create(AdagradSpec(0.1f, 0.1f, 1e-10f, 0.0f));
  std::vector<float> params = {1.0f}, state = {0.0f};
  const std::vector<float> gradient = {0.3f};
  adagrad->Apply(absl::MakeSpan(params), gradient, absl::MakeSpan(state));
  CHECK(params[0] == Approx(1.0 - 0.1 * 0.3 / std::sqrt(0.19)).epsilon(1e-6));
}

TEST_CASE("an unknown optimizer is refused, listing the known ones") {
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer(Spec("adamw", 0.01f, 0.0f, 0.0f));
  REQUIRE_FALSE(optimizer.ok());
  CHECK(optimizer.status().code() == absl::StatusCode::kInvalidArgument);
  INFO(optimizer.status().ToString());
  CHECK(absl::StrContains(optimizer.status().message(), "\"adamw\""));
  CHECK(absl::StrContains(optimizer.status().message(),
                          "sgd, momentum, adagrad, adam, ftrl"));
}

TEST_CASE("an empty optimizer type is refused") {
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer =
      CreateOptimizer(Spec("", 0.01f, 0.0f, 0.0f));
  REQUIRE_FALSE(optimizer.ok());
  CHECK(optimizer.status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("ftrl refuses weight_decay: its L2 is l2") {
  OptimizerSpec spec = FtrlSpec(0.1f, 1.0f, 0.0f, 0.0f);
  spec.set_weight_decay(0.01f);
  absl::StatusOr<std::unique_ptr<Optimizer>> optimizer = CreateOptimizer(spec);
  REQUIRE_FALSE(optimizer.ok());
  CHECK(absl::StrContains(optimizer.status().message(), "optimizer.l2"));
}

}  // namespace
}  // namespace petrel::server

namespace petrel::server {
namespace {

// Sparse rows, ApplyRows' way and Apply's way, over several steps: the bits
// must agree, for the dim-1 loops and for the generic path.
void CheckRowsMatchApply(const OptimizerSpec& spec, int dim) {
  std::unique_ptr<Optimizer> optimizer = Create(spec);
  const int slots = optimizer->StateSlots();
  const int row_floats = dim * (1 + slots);
  constexpr int kRows = 257;
  std::mt19937 rng(dim);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> by_rows(kRows * row_floats, 0.0f);
  for (int r = 0; r < kRows; ++r) {
    for (int j = 0; j < dim; ++j) by_rows[r * row_floats + j] = uniform(rng);
  }
  std::vector<float> by_apply = by_rows;
  // Rows in a scattered order, as a push names them.
  std::vector<int> order(kRows);
  for (int r = 0; r < kRows; ++r) order[r] = (r * 101) % kRows;
  for (int step = 0; step < 5; ++step) {
    std::vector<float> gradient(kRows * dim);
    for (float& g : gradient) g = uniform(rng);
    std::vector<float*> rows;
    for (int r : order) rows.push_back(by_rows.data() + r * row_floats);
    optimizer->ApplyRows(rows, gradient.data(), dim);
    for (int k = 0; k < kRows; ++k) {
      float* row = by_apply.data() + order[k] * row_floats;
      optimizer->Apply(absl::MakeSpan(row, dim), absl::MakeConstSpan(gradient).subspan(k * dim, dim),
                       absl::MakeSpan(row + dim, dim * slots));
    }
    INFO(spec.type() << " dim " << dim << " step " << step);
    REQUIRE(std::memcmp(by_rows.data(), by_apply.data(), by_rows.size() * sizeof(float)) == 0);
  }
}

TEST_CASE("ApplyRows gives each sparse row the same bits as Apply") {
  for (int dim : {1, 3, 16}) {
    CheckRowsMatchApply(Spec("sgd", 0.01f, 0.0f, 0.05f), dim);
    CheckRowsMatchApply(Spec("momentum", 0.01f, 0.9f, 0.05f), dim);
    CheckRowsMatchApply(AdagradSpec(0.05f, 0.1f, 1e-10f, 0.01f), dim);
    CheckRowsMatchApply(AdagradSpec(0.05f, 0.0f, 1e-10f, 0.0f), dim);
    CheckRowsMatchApply(AdamSpec(0.01f, 0.9f, 0.999f, 1e-8f, 0.01f), dim);
    CheckRowsMatchApply(FtrlSpec(0.1f, 1.0f, 0.5f, 0.1f), dim);
  }
}

}  // namespace
}  // namespace petrel::server

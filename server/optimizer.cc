#include "server/optimizer.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace petrel::server {
namespace {

class Sgd : public Optimizer {
 public:
  Sgd(float learning_rate, float weight_decay) : lr_(learning_rate), wd_(weight_decay) {}
  int StateSlots() const override { return 0; }
  void Apply(absl::Span<float> params, absl::Span<const float> gradient,
             absl::Span<float>) const override {
    float* p = params.data();
    const float* g = gradient.data();
    const size_t n = params.size();
    for (size_t i = 0; i < n; ++i) p[i] -= lr_ * (g[i] + wd_ * p[i]);
  }

 private:
  const float lr_, wd_;
};

class Momentum : public Optimizer {
 public:
  Momentum(float learning_rate, float momentum, float weight_decay)
      : lr_(learning_rate), mu_(momentum), wd_(weight_decay) {}
  int StateSlots() const override { return 1; }
  void Apply(absl::Span<float> params, absl::Span<const float> gradient,
             absl::Span<float> state) const override {
    float* p = params.data();
    float* v = state.data();
    const float* g = gradient.data();
    const size_t n = params.size();
    for (size_t i = 0; i < n; ++i) {
      v[i] = mu_ * v[i] + (g[i] + wd_ * p[i]);
      p[i] -= lr_ * v[i];
    }
  }

 private:
  const float lr_, mu_, wd_;
};

// State: a - initial_accumulator_value, so that zero means "initial".
class Adagrad : public Optimizer {
 public:
  Adagrad(float learning_rate, float initial_accumulator, float epsilon, float weight_decay)
      : lr_(learning_rate), initial_(initial_accumulator), eps_(epsilon), wd_(weight_decay) {}
  int StateSlots() const override { return 1; }
  void Apply(absl::Span<float> params, absl::Span<const float> gradient,
             absl::Span<float> state) const override {
    float* p = params.data();
    float* added = state.data();
    const float* g = gradient.data();
    const size_t n = params.size();
    for (size_t i = 0; i < n; ++i) {
      const float gi = g[i] + wd_ * p[i];
      added[i] += gi * gi;
      p[i] -= lr_ * gi / (std::sqrt(initial_ + added[i]) + eps_);
    }
  }

 private:
  const float lr_, initial_, eps_, wd_;
};

// State per parameter: m, v, t (the parameter's own step count).
class Adam : public Optimizer {
 public:
  Adam(float learning_rate, float beta1, float beta2, float epsilon, float weight_decay)
      : lr_(learning_rate), b1_(beta1), b2_(beta2), eps_(epsilon), wd_(weight_decay) {}
  int StateSlots() const override { return 3; }
  void Apply(absl::Span<float> params, absl::Span<const float> gradient,
             absl::Span<float> state) const override {
    float* p = params.data();
    const float* g = gradient.data();
    const size_t n = params.size();
    // Neighbouring parameters almost always share a step count: compute the
    // bias corrections once per distinct t, not once per parameter.
    float cached_t = -1, bc1 = 1, bc2 = 1;
    for (size_t i = 0; i < n; ++i) {
      float* s = state.data() + 3 * i;
      float& m = s[0];
      float& v = s[1];
      float& t = s[2];
      t += 1;
      if (t != cached_t) {
        cached_t = t;
        bc1 = static_cast<float>(1 - std::pow(static_cast<double>(b1_), t));
        bc2 = static_cast<float>(1 - std::pow(static_cast<double>(b2_), t));
      }
      const float gi = g[i] + wd_ * p[i];
      m = b1_ * m + (1 - b1_) * gi;
      v = b2_ * v + (1 - b2_) * gi * gi;
      p[i] -= lr_ * (m / bc1) / (std::sqrt(v / bc2) + eps_);
    }
  }

 private:
  const float lr_, b1_, b2_, eps_, wd_;
};

// State per parameter: z, n.
class Ftrl : public Optimizer {
 public:
  Ftrl(float alpha, float beta, float l1, float l2)
      : alpha_(alpha), beta_(beta), l1_(l1), l2_(l2) {}
  int StateSlots() const override { return 2; }
  void Apply(absl::Span<float> params, absl::Span<const float> gradient,
             absl::Span<float> state) const override {
    float* p = params.data();
    const float* g = gradient.data();
    const size_t count = params.size();
    for (size_t i = 0; i < count; ++i) {
      float& z = state[2 * i];
      float& n = state[2 * i + 1];
      const float gi = g[i];
      const float n_new = n + gi * gi;
      const float sqrt_n_new = std::sqrt(n_new);
      const float sigma = (sqrt_n_new - std::sqrt(n)) / alpha_;
      z += gi - sigma * p[i];  // p[i] is the current weight w_t
      n = n_new;
      // |z| <= l1 also covers z == 0 with n == 0 (only zero gradients so
      // far), where the denominator below could be 0 when beta == l2 == 0.
      if (std::abs(z) <= l1_) {
        p[i] = 0.0f;
      } else {
        const float shrunk = z > 0 ? z - l1_ : z + l1_;
        p[i] = -shrunk / ((beta_ + sqrt_n_new) / alpha_ + l2_);
      }
    }
  }

 private:
  const float alpha_, beta_, l1_, l2_;
};

}  // namespace

const std::vector<std::string>& KnownOptimizers() {
  static const auto* names =
      new std::vector<std::string>{"sgd", "momentum", "adagrad", "adam", "ftrl"};
  return *names;
}

absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const OptimizerSpec& spec) {
  const float lr = spec.learning_rate(), wd = spec.weight_decay();
  if (spec.type() == "sgd") return std::make_unique<Sgd>(lr, wd);
  if (spec.type() == "momentum") return std::make_unique<Momentum>(lr, spec.momentum(), wd);
  if (spec.type() == "adagrad") {
    return std::make_unique<Adagrad>(lr, spec.initial_accumulator_value(), spec.epsilon(), wd);
  }
  if (spec.type() == "adam") {
    return std::make_unique<Adam>(lr, spec.beta1(), spec.beta2(), spec.epsilon(), wd);
  }
  if (spec.type() == "ftrl") {
    if (wd != 0) {
      return absl::InvalidArgumentError(
          "optimizer.weight_decay must be 0 for \"ftrl\"; use optimizer.l2");
    }
    return std::make_unique<Ftrl>(lr, spec.beta(), spec.l1(), spec.l2());
  }
  return absl::InvalidArgumentError(
      absl::StrCat("optimizer.type: unknown optimizer \"", spec.type(),
                   "\" (known: ", absl::StrJoin(KnownOptimizers(), ", "), ")"));
}

}  // namespace petrel::server

#include "server/optimizer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace petrel::server {
namespace {

// The update loops are free functions compiled for AVX-512, AVX2 and plain
// x86-64, the right one picked when the process starts (GCC's
// target_clones), with -O3 -fno-math-errno (see BUILD) so that sqrt and the
// loops vectorise. tools/bench_pushpull measures them against memcpy.
#define PETREL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))

PETREL_VECTOR_CLONES
void SgdKernel(float* __restrict p, const float* __restrict g, size_t n, float lr, float wd) {
  for (size_t i = 0; i < n; ++i) p[i] -= lr * (g[i] + wd * p[i]);
}

PETREL_VECTOR_CLONES
void MomentumKernel(float* __restrict p, const float* __restrict g, float* __restrict v, size_t n,
                    float lr, float mu, float wd) {
  for (size_t i = 0; i < n; ++i) {
    v[i] = mu * v[i] + (g[i] + wd * p[i]);
    p[i] -= lr * v[i];
  }
}

PETREL_VECTOR_CLONES
void AdagradKernel(float* __restrict p, const float* __restrict g, float* __restrict added,
                   size_t n, float lr, float initial, float eps, float wd) {
  for (size_t i = 0; i < n; ++i) {
    const float gi = g[i] + wd * p[i];
    added[i] += gi * gi;
    p[i] -= lr * gi / (std::sqrt(initial + added[i]) + eps);
  }
}

// Adam over parameters that share one step count: state is (m, v, t) per
// parameter; every t becomes `t`, whose bias corrections are bc1 and bc2.
PETREL_VECTOR_CLONES
void AdamKernel(float* __restrict p, const float* __restrict g, float* __restrict state, size_t n,
                float lr, float b1, float b2, float eps, float wd, float t, float bc1, float bc2) {
  const float step = lr / bc1, inv_bc2 = 1.0f / bc2;
  for (size_t i = 0; i < n; ++i) {
    float* s = state + 3 * i;
    const float gi = g[i] + wd * p[i];
    const float m = b1 * s[0] + (1 - b1) * gi;
    const float v = b2 * s[1] + (1 - b2) * gi * gi;
    s[0] = m;
    s[1] = v;
    s[2] = t;
    p[i] -= step * m / (std::sqrt(v * inv_bc2) + eps);
  }
}

// The dim-1 row loops below repeat their kernel's expression exactly
// (-ffp-contract=off keeps it from being fused differently), so a row gets
// the same bits either way; optimizer_test checks it.

class Sgd : public Optimizer {
 public:
  Sgd(float learning_rate, float weight_decay) : lr_(learning_rate), wd_(weight_decay) {}
  int StateSlots() const override { return 0; }
  void Apply(absl::Span<float> params, absl::Span<const float> gradient,
             absl::Span<float>) const override {
    SgdKernel(params.data(), gradient.data(), params.size(), lr_, wd_);
  }
  void ApplyRows(absl::Span<float* const> rows, const float* gradient, int dim) const override {
    if (dim != 1) return Optimizer::ApplyRows(rows, gradient, dim);
    for (size_t k = 0; k < rows.size(); ++k) {
      float* p = rows[k];
      p[0] -= lr_ * (gradient[k] + wd_ * p[0]);
    }
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
    MomentumKernel(params.data(), gradient.data(), state.data(), params.size(), lr_, mu_, wd_);
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
    AdagradKernel(params.data(), gradient.data(), state.data(), params.size(), lr_, initial_, eps_,
                  wd_);
  }
  void ApplyRows(absl::Span<float* const> rows, const float* gradient, int dim) const override {
    if (dim != 1) return Optimizer::ApplyRows(rows, gradient, dim);
    for (size_t k = 0; k < rows.size(); ++k) {
      float* row = rows[k];  // the parameter, then its accumulator slot
      const float gi = gradient[k] + wd_ * row[0];
      row[1] += gi * gi;
      row[0] -= lr_ * gi / (std::sqrt(initial_ + row[1]) + eps_);
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
    // Neighbouring parameters almost always share a step count: find each
    // run of equal t, compute its bias corrections once, and update the run
    // with the vector kernel. Runs are cut at kBlock so the state read to
    // find them is still in cache when the kernel reads it again.
    constexpr size_t kBlock = 4096;
    const size_t n = params.size();
    float* s = state.data();
    for (size_t begin = 0; begin < n;) {
      const float t = s[3 * begin + 2];
      size_t end = begin + 1;
      const size_t limit = std::min(n, begin + kBlock);
      while (end < limit && s[3 * end + 2] == t) ++end;
      const float next = t + 1;
      const float bc1 = static_cast<float>(1 - std::pow(static_cast<double>(b1_), next));
      const float bc2 = static_cast<float>(1 - std::pow(static_cast<double>(b2_), next));
      AdamKernel(params.data() + begin, gradient.data() + begin, s + 3 * begin, end - begin, lr_,
                 b1_, b2_, eps_, wd_, next, bc1, bc2);
      begin = end;
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

void Optimizer::ApplyRows(absl::Span<float* const> rows, const float* gradient, int dim) const {
  const size_t slots = StateSlots();
  for (size_t k = 0; k < rows.size(); ++k) {
    Apply(absl::MakeSpan(rows[k], dim), absl::MakeConstSpan(gradient + k * dim, dim),
          absl::MakeSpan(rows[k] + dim, dim * slots));
  }
}

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

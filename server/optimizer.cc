#include "server/optimizer.h"

#include "absl/strings/str_cat.h"

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

}  // namespace

absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const OptimizerSpec& spec) {
  if (spec.type() == "sgd") {
    return std::make_unique<Sgd>(spec.learning_rate(), spec.weight_decay());
  }
  if (spec.type() == "momentum") {
    return std::make_unique<Momentum>(spec.learning_rate(), spec.momentum(),
                                      spec.weight_decay());
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "optimizer.type: unknown optimizer \"", spec.type(), "\" (known: sgd, momentum)"));
}

}  // namespace petrel::server

// Server-side optimizers: how a pushed gradient changes the parameters. Each
// keeps its per-parameter state in a flat array the shard owns.
#ifndef PETREL_SERVER_OPTIMIZER_H_
#define PETREL_SERVER_OPTIMIZER_H_

#include <memory>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "proto/job.pb.h"

namespace petrel::server {

class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // Floats of state per parameter.
  virtual int StateSlots() const = 0;

  // Applies one gradient. `state` holds StateSlots() * params.size() floats,
  // zero before the first call.
  virtual void Apply(absl::Span<float> params, absl::Span<const float> gradient,
                     absl::Span<float> state) const = 0;
};

// "sgd":      p -= lr * (g + wd * p)
// "momentum": v = mu * v + (g + wd * p); p -= lr * v   (PyTorch's form)
absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const OptimizerSpec& spec);

}  // namespace petrel::server

#endif  // PETREL_SERVER_OPTIMIZER_H_

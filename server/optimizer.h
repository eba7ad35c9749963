// Server-side optimizers: how a pushed gradient changes the parameters. Each
// keeps all of its per-parameter bookkeeping in a flat state array the shard
// owns, so that the same optimizer serves any sub-span of a table (and, later,
// sparse rows, each with its own state) without hidden shared counters.
#ifndef PETREL_SERVER_OPTIMIZER_H_
#define PETREL_SERVER_OPTIMIZER_H_

#include <memory>
#include <string>
#include <vector>

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
  // zero before the first call, interleaved per parameter: parameter i's
  // slots are state[i * StateSlots() .. (i + 1) * StateSlots()). So the
  // state of params[a, b) is state[a * slots, b * slots), and applying to a
  // sub-span (or one sparse row) touches only that part.
  virtual void Apply(absl::Span<float> params, absl::Span<const float> gradient,
                     absl::Span<float> state) const = 0;

  // Applies gradient row k, gradient[k * dim, (k + 1) * dim), to sparse row
  // rows[k]: dim parameters followed by their dim * StateSlots() state. The
  // same bits as Apply on each row in turn (a row named twice is updated
  // twice, in turn). The
  // optimizers that sparse tables use most override it for dim 1, where a
  // call per row would cost more than the update.
  virtual void ApplyRows(absl::Span<float* const> rows, const float* gradient, int dim) const;
};

// With lr = learning_rate, wd = weight_decay, g the pushed gradient:
//
// "sgd" (0 slots):      p -= lr * (g + wd * p)
// "momentum" (1 slot):  v = mu * v + (g + wd * p); p -= lr * v  (PyTorch's form)
// "adagrad" (1 slot):   g' = g + wd * p; a += g'^2; p -= lr * g' / (sqrt(a) + eps)
//     a starts at initial_accumulator_value (TensorFlow's default 0.1). The
//     slot stores a - initial_accumulator_value, so a zero state is the
//     initial accumulator.
// "adam" (3 slots: m, v, t): Kingma & Ba with bias correction,
//     g' = g + wd * p (L2 added to the gradient, as PyTorch's Adam, not AdamW)
//     t += 1; m = b1 m + (1 - b1) g'; v = b2 v + (1 - b2) g'^2
//     p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
//     t is kept per parameter (a float, exact up to 2^24 steps), so Adam is
//     "lazy": a parameter's moments and step advance only when a gradient for
//     it is applied. For dense tables pushed whole this is ordinary Adam; for
//     sub-spans and sparse rows each row has its own bias correction.
// "ftrl" (2 slots: z, n): FTRL-Proximal, per coordinate (McMahan et al. 2013,
//     Algorithm 1), alpha = learning_rate, beta, l1, l2:
//     sigma = (sqrt(n + g^2) - sqrt(n)) / alpha; z += g - sigma * w; n += g^2
//     p = 0 if |z| <= l1, else -(z - sign(z) l1) / ((beta + sqrt(n)) / alpha + l2)
//     w in the z update is the current parameter as the shard holds it, so
//     initial weights (e.g. glorot) count as w_1: they enter z through the
//     first sigma * w and are then replaced by the closed form above (as
//     TensorFlow's FTRL does). weight_decay is not used (refused if set):
//     FTRL's l2 is its L2 penalty.
//
// The arithmetic is in float, like the state. Refuses (INVALID_ARGUMENT) an
// unknown type, listing KnownOptimizers(), and an ftrl spec with weight_decay.
absl::StatusOr<std::unique_ptr<Optimizer>> CreateOptimizer(const OptimizerSpec& spec);

// The optimizer types CreateOptimizer knows, in the order the docs list them.
const std::vector<std::string>& KnownOptimizers();

}  // namespace petrel::server

#endif  // PETREL_SERVER_OPTIMIZER_H_

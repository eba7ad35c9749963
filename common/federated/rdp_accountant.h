// Privacy accounting for differentially private training with the subsampled
// Gaussian mechanism (DP-SGD, DP-FedAvg): Rényi differential privacy (RDP) at
// integer orders, composed over steps and converted to (epsilon, delta).
//
// References:
// - I. Mironov, "Rényi Differential Privacy", CSF 2017: RDP, its composition
//   (the RDP of `steps` compositions is steps times the RDP of one).
// - I. Mironov, K. Talwar, L. Zhang, "Rényi Differential Privacy of the
//   Sampled Gaussian Mechanism", arXiv:1908.10530, 2019: for a Poisson sample
//   of rate q and Gaussian noise of stddev sigma * sensitivity, the RDP at
//   integer order alpha >= 2 is
//       eps_RDP(alpha) = log(A_alpha) / (alpha - 1),
//       A_alpha = sum_{k=0..alpha} C(alpha, k) (1-q)^(alpha-k) q^k
//                                  exp((k^2 - k) / (2 sigma^2)).
//   (Section 3.3; the same sum as TF Privacy's _compute_log_a_int.)
// - C. Canonne, G. Kamath, T. Steinke, "The Discrete Gaussian for
//   Differential Privacy", NeurIPS 2020, Proposition 12: RDP eps_RDP at order
//   alpha implies (eps, delta)-DP with
//       eps = eps_RDP + log1p(-1/alpha) - (log(delta) + log(alpha)) / (alpha - 1),
//   tighter than Mironov's eps_RDP + log(1/delta) / (alpha - 1). TF Privacy
//   and Opacus use this bound too; they also try fractional orders, so their
//   epsilon can be slightly smaller than this accountant's.
#ifndef PETREL_COMMON_FEDERATED_RDP_ACCOUNTANT_H_
#define PETREL_COMMON_FEDERATED_RDP_ACCOUNTANT_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace petrel::dp {

// RDP at integer order `order` >= 2 of one step of the Gaussian mechanism with
// noise stddev noise_multiplier * sensitivity, applied to a Poisson sample of
// rate q in [0, 1]: log(A_order) / (order - 1), with A_order as above,
// computed in log space (a log-sum-exp over k, log C by lgamma). q = 0 gives
// 0 and q = 1 gives order / (2 sigma^2) exactly. NaN for arguments outside
// those ranges (EpsilonSpent checks them).
double SubsampledGaussianRdp(double q, double noise_multiplier, int order);

struct PrivacySpent {
  double epsilon = 0;
  double delta = 0;
  int order = 0;  // the order that gave the smallest epsilon (0 when nothing was spent)
};

// The orders EpsilonSpent minimises over: 2..256, then 320, 384, 512, 768
// and 1024 (large orders matter only for very small epsilons).
inline constexpr int kMaxDenseOrder = 256;

// (epsilon, delta) after `steps` compositions: for each order,
// eps_RDP = steps * SubsampledGaussianRdp(q, noise_multiplier, order),
// converted with the Canonne-Kamath-Steinke bound above, and the smallest
// epsilon over the orders is returned (never below 0). INVALID_ARGUMENT,
// naming the value, for q outside [0, 1], noise_multiplier <= 0 (or NaN),
// steps < 0, or delta outside (0, 1). steps == 0 or q == 0 spends epsilon 0.
absl::StatusOr<PrivacySpent> EpsilonSpent(double q, double noise_multiplier, int64_t steps,
                                          double delta);

}  // namespace petrel::dp

#endif  // PETREL_COMMON_FEDERATED_RDP_ACCOUNTANT_H_

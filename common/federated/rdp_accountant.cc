#include "common/federated/rdp_accountant.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"

namespace petrel::dp {
namespace {

std::vector<int> Orders() {
  std::vector<int> orders;
  for (int order = 2; order <= kMaxDenseOrder; ++order) orders.push_back(order);
  for (int order : {320, 384, 512, 768, 1024}) orders.push_back(order);
  return orders;
}

double LogBinomial(int n, int k) {
  return std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0);
}

}  // namespace

double SubsampledGaussianRdp(double q, double noise_multiplier, int order) {
  if (!(q >= 0 && q <= 1) || !(noise_multiplier > 0) || order < 2) {
    return std::numeric_limits<double>::quiet_NaN();
  }
  const double two_sigma_squared = 2 * noise_multiplier * noise_multiplier;
  if (q == 0) return 0;
  if (q == 1) return order / two_sigma_squared;

  // log A = log sum_k exp(term_k), summed relative to the largest term.
  const double log_q = std::log(q);
  const double log_1mq = std::log1p(-q);
  std::vector<double> terms(order + 1);
  for (int k = 0; k <= order; ++k) {
    const double kd = k;
    terms[k] = LogBinomial(order, k) + (order - kd) * log_1mq + kd * log_q +
               (kd * kd - kd) / two_sigma_squared;
  }
  const double largest = *std::max_element(terms.begin(), terms.end());
  if (std::isinf(largest)) return largest;  // the noise is too small to say anything
  double sum = 0;
  for (double term : terms) sum += std::exp(term - largest);
  return (largest + std::log(sum)) / (order - 1);
}

absl::StatusOr<PrivacySpent> EpsilonSpent(double q, double noise_multiplier, int64_t steps,
                                          double delta) {
  if (!(q >= 0 && q <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("sampling rate q must be in [0, 1], got ", q));
  }
  if (!(noise_multiplier > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("noise_multiplier must be > 0, got ", noise_multiplier));
  }
  if (steps < 0) {
    return absl::InvalidArgumentError(absl::StrCat("steps must be >= 0, got ", steps));
  }
  if (!(delta > 0 && delta < 1)) {
    return absl::InvalidArgumentError(absl::StrCat("delta must be in (0, 1), got ", delta));
  }
  PrivacySpent spent;
  spent.delta = delta;
  if (steps == 0 || q == 0) return spent;

  spent.epsilon = std::numeric_limits<double>::infinity();
  const double log_delta = std::log(delta);
  for (int order : Orders()) {
    const double rdp = static_cast<double>(steps) * SubsampledGaussianRdp(q, noise_multiplier, order);
    const double epsilon =
        rdp + std::log1p(-1.0 / order) - (log_delta + std::log(order)) / (order - 1);
    if (epsilon < spent.epsilon) {
      spent.epsilon = epsilon;
      spent.order = order;
    }
  }
  spent.epsilon = std::max(spent.epsilon, 0.0);
  return spent;
}

}  // namespace petrel::dp

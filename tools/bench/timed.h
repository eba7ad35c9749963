// Timing one benchmark case: `rounds` calls, each moving the same bytes,
// turned into a CaseResult (rate over the whole, p50 and p99 of the rounds).
#ifndef PETREL_TOOLS_BENCH_TIMED_H_
#define PETREL_TOOLS_BENCH_TIMED_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tools/bench/apply_cases.h"
#include "tools/bench/yardsticks.h"

namespace petrel::bench {

// "1e7" for 10^7, else the number itself: the size part of a case's name.
std::string SizeTag(int64_t n);

// Times `rounds` calls of `call(round)` (an absl::Status), each moving `bytes`
// and `keys`; the first failing call's status ends it.
template <typename Call>
absl::StatusOr<CaseResult> Timed(const std::string& name, int rounds, double bytes, double keys,
                                 Call call) {
  using Clock = std::chrono::steady_clock;
  std::vector<double> seconds;
  double total = 0;
  for (int i = 0; i < rounds; ++i) {
    const auto start = Clock::now();
    const absl::Status status = call(i);
    if (!status.ok()) return status;
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    total += seconds.back();
  }
  CaseResult result;
  result.name = name;
  result.bytes_per_s = bytes * rounds / total;
  result.keys_per_s = keys * rounds / total;
  result.p50_ms = Quantile(seconds, 0.5) * 1e3;
  result.p99_ms = Quantile(seconds, 0.99) * 1e3;
  return result;
}

}  // namespace petrel::bench

#endif  // PETREL_TOOLS_BENCH_TIMED_H_

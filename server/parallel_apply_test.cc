#define CATCH_CONFIG_MAIN
#include "server/parallel_apply.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "catch2/catch.hpp"

namespace petrel::server {
namespace {

TEST_CASE("applying on several threads gives the same bits as on one") {
  for (const char* type : {"sgd", "momentum", "adagrad", "adam", "ftrl"}) {
    INFO(type);
    OptimizerSpec spec;
    spec.set_type(type);
    spec.set_learning_rate(0.01f);
    spec.set_momentum(0.9f);
    spec.set_beta1(0.9f);
    spec.set_beta2(0.999f);
    spec.set_epsilon(1e-8f);
    spec.set_initial_accumulator_value(0.1f);
    spec.set_beta(1.0f);
    spec.set_l1(0.001f);
    auto optimizer = CreateOptimizer(spec);
    REQUIRE(optimizer.ok());
    // Several threads' worth, not a multiple of any vector width.
    const size_t n = 3 * kMinFloatsPerThread + 7;
    const size_t slots = (*optimizer)->StateSlots();
    std::vector<float> gradient(n), params(n);
    for (size_t i = 0; i < n; ++i) {
      gradient[i] = std::sin(0.37 * i);
      params[i] = std::cos(0.11 * i);
    }
    std::vector<float> one = params, many = params;
    std::vector<float> one_state(n * slots), many_state(n * slots);
    for (int step = 0; step < 3; ++step) {
      (*optimizer)->Apply(absl::MakeSpan(one), gradient, absl::MakeSpan(one_state));
      ApplyInParallel(**optimizer, absl::MakeSpan(many), gradient, absl::MakeSpan(many_state), 4);
    }
    CHECK(std::memcmp(one.data(), many.data(), n * sizeof(float)) == 0);
    CHECK(std::memcmp(one_state.data(), many_state.data(), n * slots * sizeof(float)) == 0);
    CHECK(one != params);  // something was applied
  }
}

}  // namespace
}  // namespace petrel::server

#define CATCH_CONFIG_MAIN
#include "server/finite_check.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "catch2/catch.hpp"

namespace petrel::server {
namespace {

TEST_CASE("FirstNonFinite finds the first NaN or infinity, anywhere") {
  // Long enough to cross the check's blocks and the vector loops' tails.
  std::vector<float> values(100'003);
  for (size_t i = 0; i < values.size(); ++i) values[i] = std::sin(0.1 * i) * 1e30f;
  values[7] = std::numeric_limits<float>::max();
  values[8] = std::numeric_limits<float>::denorm_min();
  CHECK(FirstNonFinite(values) == -1);
  CHECK(FirstNonFinite({}) == -1);
  for (size_t at : {size_t{0}, size_t{15}, size_t{16'384}, size_t{70'001}, values.size() - 1}) {
    for (float bad : {std::numeric_limits<float>::quiet_NaN(),
                      std::numeric_limits<float>::infinity(),
                      -std::numeric_limits<float>::infinity()}) {
      std::vector<float> copy = values;
      copy[at] = bad;
      if (at + 10 < copy.size()) copy[at + 10] = bad;  // a later one is not reported
      INFO("at " << at << " value " << bad);
      CHECK(FirstNonFinite(copy) == static_cast<int64_t>(at));
    }
  }
}

TEST_CASE("FirstNonFiniteBytes reads float bytes at any address") {
  std::vector<float> values(40'001, 1.5f);
  values[33'333] = std::numeric_limits<float>::infinity();
  std::vector<char> storage(values.size() * sizeof(float) + 8);
  for (size_t shift = 0; shift < 4; ++shift) {
    std::memcpy(storage.data() + shift, values.data(), values.size() * sizeof(float));
    const absl::string_view bytes(storage.data() + shift, values.size() * sizeof(float));
    INFO("shifted by " << shift);
    CHECK(FirstNonFiniteBytes(bytes) == 33'333);
    CHECK(FirstNonFiniteBytes(bytes.substr(0, 33'333 * sizeof(float))) == -1);
  }
}

}  // namespace
}  // namespace petrel::server

#include "tools/bench/timed.h"

#include "absl/strings/str_cat.h"

namespace petrel::bench {

std::string SizeTag(int64_t n) {
  int exponent = 0;
  int64_t m = n;
  while (m >= 10 && m % 10 == 0) {
    m /= 10;
    ++exponent;
  }
  return m == 1 && exponent > 0 ? absl::StrCat("1e", exponent) : absl::StrCat(n);
}

}  // namespace petrel::bench

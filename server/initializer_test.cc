#define CATCH_CONFIG_MAIN
#include "server/initializer.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/types/span.h"
#include "catch2/catch.hpp"
#include "common/jobspec/model_tables.h"

namespace petrel::server {
namespace {

DenseTable Table(const std::string& name, std::vector<int64_t> shape,
                 const std::string& initializer, float init_scale = 0) {
  DenseTable table;
  table.set_name(name);
  for (int64_t d : shape) table.add_shape(d);
  table.set_initializer(initializer);
  table.set_init_scale(init_scale);
  return table;
}

// The whole table, initialised in one call.
std::vector<float> Whole(const DenseTable& table, uint64_t seed) {
  std::vector<float> values(TableSize(table));
  absl::Status status = InitializeRange(table, seed, 0, absl::MakeSpan(values));
  INFO(status.ToString());
  REQUIRE(status.ok());
  return values;
}

double Mean(const std::vector<float>& v) {
  double sum = 0;
  for (float x : v) sum += x;
  return sum / v.size();
}

double Stddev(const std::vector<float>& v) {
  const double mean = Mean(v);
  double sum = 0;
  for (float x : v) sum += (x - mean) * (x - mean);
  return std::sqrt(sum / v.size());
}

TEST_CASE("values do not depend on how the table is cut") {
  const std::string kind = GENERATE(as<std::string>{}, "glorot_uniform", "normal", "zeros");
  const DenseTable table = Table("layer0/weights", {300, 70}, kind, 0.05f);
  const std::vector<float> whole = Whole(table, 42);
  // Uneven pieces, including a one-element one, that cover [0, n).
  const int64_t n = TableSize(table);
  const std::vector<int64_t> cuts = {0, 1, 7, 1000, 1001, 12345, n - 3, n};
  std::vector<float> pieced(n, -99.0f);
  for (size_t i = 0; i + 1 < cuts.size(); ++i) {
    absl::Status status = InitializeRange(
        table, 42, cuts[i], absl::MakeSpan(pieced.data() + cuts[i], cuts[i + 1] - cuts[i]));
    REQUIRE(status.ok());
  }
  INFO("initializer " << kind);
  CHECK(pieced == whole);
}

TEST_CASE("the same seed gives the same values, another seed others") {
  const std::string kind = GENERATE(as<std::string>{}, "glorot_uniform", "normal");
  const DenseTable table = Table("layer1/weights", {64, 10}, kind, 0.1f);
  const std::vector<float> a = Whole(table, 7);
  CHECK(Whole(table, 7) == a);
  const std::vector<float> b = Whole(table, 8);
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  INFO("initializer " << kind << ": " << same << " of " << a.size() << " equal");
  CHECK(same < static_cast<int64_t>(a.size()) / 100);
}

TEST_CASE("tables with different names get different values") {
  const std::vector<float> a = Whole(Table("layer0/weights", {32, 32}, "glorot_uniform"), 1);
  const std::vector<float> b = Whole(Table("layer1/weights", {32, 32}, "glorot_uniform"), 1);
  int64_t same = 0;
  for (size_t i = 0; i < a.size(); ++i) same += a[i] == b[i];
  CHECK(same < static_cast<int64_t>(a.size()) / 100);
}

TEST_CASE("glorot_uniform stays within its limit with mean near 0") {
  const DenseTable table = Table("layer0/weights", {784, 256}, "glorot_uniform");
  const std::vector<float> v = Whole(table, 3);
  const double limit = std::sqrt(6.0 / (784 + 256));
  const auto [lo, hi] = std::minmax_element(v.begin(), v.end());
  CHECK(*lo >= -limit);
  CHECK(*hi <= limit);
  // It spreads over the whole interval, not a corner of it.
  CHECK(*lo < -0.99 * limit);
  CHECK(*hi > 0.99 * limit);
  // U(-l, l): stddev l / sqrt(3); the mean of 200704 draws is within
  // 0.0013 l of 0 one time in three.
  CHECK(std::abs(Mean(v)) < 0.01 * limit);
  CHECK(Stddev(v) == Approx(limit / std::sqrt(3.0)).epsilon(0.02));
}

TEST_CASE("glorot_uniform of a bias uses its size as both fans") {
  const DenseTable table = Table("layer0/bias", {500}, "glorot_uniform");
  const std::vector<float> v = Whole(table, 3);
  const double limit = std::sqrt(6.0 / (500 + 500));
  for (float x : v) REQUIRE(std::abs(x) <= limit);
  CHECK(*std::max_element(v.begin(), v.end()) > 0.95 * limit);
}

TEST_CASE("normal has roughly the requested stddev") {
  const DenseTable table = Table("layer0/weights", {400, 250}, "normal", 0.05f);
  const std::vector<float> v = Whole(table, 11);
  CHECK(std::abs(Mean(v)) < 0.001);
  CHECK(Stddev(v) == Approx(0.05).epsilon(0.02));
  // A normal, not a uniform: about 4.6% of draws lie beyond two stddevs.
  int64_t beyond = 0;
  for (float x : v) beyond += std::abs(x) > 0.1;
  CHECK(static_cast<double>(beyond) / v.size() == Approx(0.0455).epsilon(0.1));
}

TEST_CASE("normal without init_scale uses stddev 0.01") {
  const std::vector<float> v = Whole(Table("w", {100, 100}, "normal"), 5);
  CHECK(Stddev(v) == Approx(0.01).epsilon(0.05));
}

TEST_CASE("zeros gives zeros") {
  const std::vector<float> v = Whole(Table("layer0/bias", {1000}, "zeros"), 9);
  CHECK(std::all_of(v.begin(), v.end(), [](float x) { return x == 0.0f; }));
}

TEST_CASE("an unknown initializer is refused, naming it") {
  std::vector<float> out(10, 1.0f);
  absl::Status status =
      InitializeRange(Table("layer0/weights", {2, 5}, "he_normal"), 1, 0, absl::MakeSpan(out));
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  INFO(status.ToString());
  CHECK(absl::StrContains(status.message(), "\"he_normal\""));
  CHECK(absl::StrContains(status.message(), "layer0/weights"));
}

}  // namespace
}  // namespace petrel::server

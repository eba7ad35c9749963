#define CATCH_CONFIG_MAIN
#include "common/daemon/metrics.h"

#include <thread>

#include "catch2/catch.hpp"

namespace petrel {
namespace {

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("the writer emits families, labels (escaped) and values") {
  MetricsWriter out;
  out.Family("petrel_test_total", "counter", "A test counter.");
  out.Sample("petrel_test_total", {{"job", "job-1"}, {"table", "a\"b\\c\nd"}}, 42);
  out.Sample("petrel_test_total", 0.25);
  CHECK(out.text() ==
        "# HELP petrel_test_total A test counter.\n"
        "# TYPE petrel_test_total counter\n"
        "petrel_test_total{job=\"job-1\",table=\"a\\\"b\\\\c\\nd\"} 42\n"
        "petrel_test_total 0.25\n");
}

TEST_CASE("a histogram's buckets are cumulative and its count is the +Inf bucket") {
  LatencyHistogram histogram;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) histogram.Observe(i % 2 ? 0.0003 : 3.0);
    });
  }
  for (auto& t : threads) t.join();
  MetricsWriter out;
  histogram.Write(&out, "petrel_test_seconds", "Test latency.");
  const std::string& text = out.text();
  CHECK(Contains(text, "# TYPE petrel_test_seconds histogram\n"));
  CHECK(Contains(text, "petrel_test_seconds_bucket{le=\"0.00025\"} 0\n"));
  CHECK(Contains(text, "petrel_test_seconds_bucket{le=\"0.0005\"} 2000\n"));
  CHECK(Contains(text, "petrel_test_seconds_bucket{le=\"1\"} 2000\n"));
  CHECK(Contains(text, "petrel_test_seconds_bucket{le=\"+Inf\"} 4000\n"));
  CHECK(Contains(text, "petrel_test_seconds_count 4000\n"));
  CHECK(Contains(text, "petrel_test_seconds_sum 6000.6"));
}

TEST_CASE("process metrics describe this process") {
  MetricsWriter out;
  WriteProcessMetrics(&out);
  const std::string& text = out.text();
  CHECK(Contains(text, "# TYPE petrel_process_resident_memory_bytes gauge"));
  CHECK_FALSE(Contains(text, "petrel_process_resident_memory_bytes 0\n"));
  CHECK_FALSE(Contains(text, "petrel_process_start_time_seconds 0\n"));
}

}  // namespace
}  // namespace petrel

// Prometheus exposition (text format 0.0.4) for every daemon's /metrics:
// a writer that keeps families and their samples in order, latency
// histograms that are safe to observe from any thread without a lock, and
// the process's own figures. Debian has no prometheus-cpp; this is the small
// part of it Petrel needs.
#ifndef PETREL_COMMON_DAEMON_METRICS_H_
#define PETREL_COMMON_DAEMON_METRICS_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace petrel {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Builds one /metrics document. Families must be declared before their
// samples, each once; names follow Prometheus conventions (petrel_*, unit
// suffixes, _total for counters).
class MetricsWriter {
 public:
  // type: "counter", "gauge" or "histogram".
  void Family(const std::string& name, const std::string& type, const std::string& help);
  void Sample(const std::string& name, const MetricLabels& labels, double value);
  void Sample(const std::string& name, double value) { Sample(name, {}, value); }

  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// A histogram of seconds with fixed buckets from 0.1 ms to 10 s.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 12> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                     0.01,   0.025,   0.05,   0.1,   1.0,    10.0};
  void Observe(double seconds);
  // Writes the family (HELP/TYPE, then _bucket, _sum and _count samples).
  void Write(MetricsWriter* out, const std::string& name, const std::string& help) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};  // the last: +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_nanos_{0};
};

// petrel_process_resident_memory_bytes, _virtual_memory_bytes,
// _cpu_seconds_total, _open_fds, _start_time_seconds, from /proc/self.
void WriteProcessMetrics(MetricsWriter* out);

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_METRICS_H_

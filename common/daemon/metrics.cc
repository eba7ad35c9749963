#include "common/daemon/metrics.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace petrel {
namespace {

// Label values escape backslash, double quote and newline.
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    return absl::StrCat(static_cast<int64_t>(value));
  }
  return absl::StrFormat("%.9g", value);
}

}  // namespace

void MetricsWriter::Family(const std::string& name, const std::string& type,
                           const std::string& help) {
  absl::StrAppend(&text_, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void MetricsWriter::Sample(const std::string& name, const MetricLabels& labels, double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      absl::StrAppend(&text_, i ? "," : "", labels[i].first, "=\"", Escape(labels[i].second),
                      "\"");
    }
    text_ += '}';
  }
  absl::StrAppend(&text_, " ", FormatValue(value), "\n");
}

void LatencyHistogram::Observe(double seconds) {
  size_t bucket = 0;
  while (bucket < kBounds.size() && seconds > kBounds[bucket]) ++bucket;
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_nanos_.fetch_add(static_cast<uint64_t>(std::max(0.0, seconds) * 1e9),
                       std::memory_order_relaxed);
}

void LatencyHistogram::Write(MetricsWriter* out, const std::string& name,
                             const std::string& help) const {
  out->Family(name, "histogram", help);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    const std::string le = i < kBounds.size() ? FormatValue(kBounds[i]) : "+Inf";
    out->Sample(name + "_bucket", {{"le", le}}, static_cast<double>(cumulative));
  }
  out->Sample(name + "_sum", sum_nanos_.load(std::memory_order_relaxed) / 1e9);
  // The count is the +Inf bucket's, so the document is always consistent
  // even while other threads observe.
  out->Sample(name + "_count", static_cast<double>(cumulative));
}

void WriteProcessMetrics(MetricsWriter* out) {
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream statm("/proc/self/statm");
  double size_pages = 0, resident_pages = 0;
  statm >> size_pages >> resident_pages;
  // /proc/self/stat: fields after the command's closing parenthesis; utime
  // and stime are the 12th and 13th of those, starttime the 20th.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
  double cpu = 0, start_seconds = 0;
  if (f.size() > 19) {
    cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    std::ifstream uptime_file("/proc/uptime");
    double uptime = 0;
    uptime_file >> uptime;
    const double boot = static_cast<double>(time(nullptr)) - uptime;
    start_seconds = boot + std::stod(f[19]) / ticks;
  }
  int fds = 0;
  std::error_code error;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", error);
       !error && it != std::filesystem::directory_iterator(); it.increment(error)) {
    ++fds;
  }
  out->Family("petrel_process_resident_memory_bytes", "gauge", "Resident set size.");
  out->Sample("petrel_process_resident_memory_bytes", resident_pages * page);
  out->Family("petrel_process_virtual_memory_bytes", "gauge", "Virtual memory size.");
  out->Sample("petrel_process_virtual_memory_bytes", size_pages * page);
  out->Family("petrel_process_cpu_seconds_total", "counter", "User and system CPU time.");
  out->Sample("petrel_process_cpu_seconds_total", cpu);
  out->Family("petrel_process_open_fds", "gauge", "Open file descriptors.");
  out->Sample("petrel_process_open_fds", fds);
  out->Family("petrel_process_start_time_seconds", "gauge", "Start time, seconds since the epoch.");
  out->Sample("petrel_process_start_time_seconds", start_seconds);
}

}  // namespace petrel

// petrel-server's /metrics: its jobs' counters and gauges (read from the
// same per-job documents /status shows, so the two never disagree), its RPC
// latency histograms and the process's figures.
#ifndef PETREL_SERVER_SERVER_METRICS_H_
#define PETREL_SERVER_SERVER_METRICS_H_

#include <string>

#include "common/daemon/metrics.h"
#include "nlohmann/json.hpp"

namespace petrel::server {

// `jobs` is ShardStore::StatusJson(); `pull` and `push` the adapter's
// latency histograms.
std::string ServerMetricsText(const nlohmann::json& jobs, const LatencyHistogram& pull,
                              const LatencyHistogram& push);

}  // namespace petrel::server

#endif  // PETREL_SERVER_SERVER_METRICS_H_

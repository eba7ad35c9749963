// What the servers moved for one job, read from their /status pages: the
// bytes of gradients that came in (as sent: compressed when the job
// compresses) and of values that went out.
#ifndef PETREL_TOOLS_CLI_SERVER_TRAFFIC_H_
#define PETREL_TOOLS_CLI_SERVER_TRAFFIC_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace petrel::cli {

struct ServerTraffic {
  int64_t bytes_in = 0;   // pushed gradients
  int64_t bytes_out = 0;  // pulled values
  int64_t pushes = 0;     // clocks pushed, summed over servers
};

// Sums the job's counters over the servers whose status pages are at
// 127.0.0.1:<port> for each of `http_ports`.
absl::StatusOr<ServerTraffic> FetchServerTraffic(const std::vector<int>& http_ports,
                                                 const std::string& job_id);

}  // namespace petrel::cli

#endif  // PETREL_TOOLS_CLI_SERVER_TRAFFIC_H_

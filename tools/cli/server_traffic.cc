#include "tools/cli/server_traffic.h"

#include "absl/strings/str_cat.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace petrel::cli {

absl::StatusOr<ServerTraffic> FetchServerTraffic(const std::vector<int>& http_ports,
                                                 const std::string& job_id) {
  ServerTraffic traffic;
  for (int port : http_ports) {
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(2);
    client.set_read_timeout(5);
    auto response = client.Get("/status");
    if (!response || response->status != 200) {
      return absl::UnavailableError(absl::StrCat("no status page at 127.0.0.1:", port));
    }
    const nlohmann::json status = nlohmann::json::parse(response->body, nullptr, false);
    if (status.is_discarded() || !status.contains("jobs")) {
      return absl::InternalError(absl::StrCat("unreadable status page at 127.0.0.1:", port));
    }
    for (const nlohmann::json& job : status["jobs"]) {
      if (job.value("job_id", "") != job_id) continue;
      traffic.bytes_in += job.value("bytes_in", int64_t{0});
      traffic.bytes_out += job.value("bytes_out", int64_t{0});
      traffic.pushes += job.value("pushes_served", int64_t{0});
    }
  }
  return traffic;
}

}  // namespace petrel::cli

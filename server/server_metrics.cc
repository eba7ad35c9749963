#include "server/server_metrics.h"

#include <functional>
#include <map>

namespace petrel::server {
namespace {

// A job's shard group, as a label: a server holds one entry per group it
// replicates.
std::string GroupOf(const nlohmann::json& job) {
  return std::to_string(job.value("group", 0));
}

// A per-job family: one sample per job, `value` read from its document.
struct JobFamily {
  const char* name;
  const char* type;
  const char* help;
  std::function<double(const nlohmann::json&)> value;
};

double Field(const nlohmann::json& job, const char* key) {
  return job.contains(key) && job[key].is_number() ? job[key].get<double>() : 0.0;
}

}  // namespace

std::string ServerMetricsText(const nlohmann::json& jobs, const LatencyHistogram& pull,
                              const LatencyHistogram& push) {
  MetricsWriter out;
  const std::vector<JobFamily> families = {
      {"petrel_server_pulls_total", "counter", "Pulls answered, per job.",
       [](const nlohmann::json& j) { return Field(j, "pulls_served"); }},
      {"petrel_server_pushes_total", "counter", "Pushes applied (whole clocks), per job.",
       [](const nlohmann::json& j) { return Field(j, "pushes_served"); }},
      {"petrel_server_received_bytes_total", "counter",
       "Gradient bytes received, as sent (compressed when the job compresses).",
       [](const nlohmann::json& j) { return Field(j, "bytes_in"); }},
      {"petrel_server_sent_bytes_total", "counter", "Parameter bytes sent in pull answers.",
       [](const nlohmann::json& j) { return Field(j, "bytes_out"); }},
      {"petrel_server_apply_seconds_total", "counter",
       "Time spent applying gradients with the job's optimizers.",
       [](const nlohmann::json& j) { return Field(j, "apply_seconds"); }},
      {"petrel_server_max_observed_staleness_clocks", "gauge",
       "Largest staleness a pull has observed, in clocks.",
       [](const nlohmann::json& j) { return Field(j, "max_observed_staleness"); }},
      {"petrel_server_waiting_pulls", "gauge", "Pulls now waiting at the staleness gate.",
       [](const nlohmann::json& j) { return Field(j, "pulls_waiting"); }},
      {"petrel_server_waited_pulls_total", "counter",
       "Pulls that could not be answered at once.",
       [](const nlohmann::json& j) { return Field(j, "pulls_waited"); }},
      {"petrel_server_min_clock", "gauge", "Smallest clock of the workers still training.",
       [](const nlohmann::json& j) {
         const double clock = Field(j, "min_clock");
         return clock > 9e18 ? 0.0 : clock;  // INT64_MAX once every worker left
       }},
  };
  for (const JobFamily& family : families) {
    out.Family(family.name, family.type, family.help);
    for (const nlohmann::json& job : jobs) {
      out.Sample(family.name,
                 {{"job_id", job.value("job_id", "")}, {"group", GroupOf(job)}, {"role", job.value("role", "")}},
                 family.value(job));
    }
  }

  out.Family("petrel_server_worker_clock", "gauge",
             "Clocks each worker has pushed to this server.");
  for (const nlohmann::json& job : jobs) {
    if (!job.contains("worker_clocks")) continue;
    for (const auto& [worker, clock] : job["worker_clocks"].items()) {
      out.Sample("petrel_server_worker_clock",
                 {{"job_id", job.value("job_id", "")}, {"group", GroupOf(job)}, {"worker", worker}},
                 clock.get<double>());
    }
  }

  // Per table: the elements and bytes this server holds (ranges of dense
  // tables, rows of sparse ones).
  out.Family("petrel_server_table_bytes", "gauge",
             "Bytes of parameters held here, per job and table (without optimizer state).");
  std::map<std::pair<std::string, std::string>, double> dense_bytes;
  for (const nlohmann::json& job : jobs) {
    const std::string id = job.value("job_id", "");
    for (const nlohmann::json& shard : job.value("shards", nlohmann::json::array())) {
      dense_bytes[{id, shard.value("table", "")}] +=
          4.0 * (shard.value("end", int64_t{0}) - shard.value("begin", int64_t{0}));
    }
    for (const nlohmann::json& sparse : job.value("sparse_tables", nlohmann::json::array())) {
      dense_bytes[{id, sparse.value("table", "")}] += sparse.value("bytes", 0.0);
    }
  }
  for (const auto& [key, bytes] : dense_bytes) {
    out.Sample("petrel_server_table_bytes", {{"job_id", key.first}, {"table", key.second}}, bytes);
  }
  out.Family("petrel_server_table_rows", "gauge", "Rows of a sparse table held here.");
  for (const nlohmann::json& job : jobs) {
    for (const nlohmann::json& sparse : job.value("sparse_tables", nlohmann::json::array())) {
      out.Sample("petrel_server_table_rows",
                 {{"job_id", job.value("job_id", "")}, {"group", GroupOf(job)}, {"table", sparse.value("table", "")}},
                 sparse.value("rows", 0.0));
    }
  }

  pull.Write(&out, "petrel_server_pull_seconds",
             "Pull latency, arrival to answer (including waits at the staleness gate).");
  push.Write(&out, "petrel_server_push_seconds", "Push latency, arrival to acknowledgement.");
  WriteProcessMetrics(&out);
  return out.text();
}

}  // namespace petrel::server

#include "coordinator/coordinator_metrics.h"

#include <map>

#include "common/daemon/metrics.h"

namespace petrel::coordinator {
namespace {

constexpr const char* kStates[] = {"QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED"};

}  // namespace

std::string CoordinatorMetricsText(const nlohmann::json& status) {
  MetricsWriter out;
  const nlohmann::json nodes = status.value("nodes", nlohmann::json::array());
  const nlohmann::json jobs = status.value("jobs", nlohmann::json::array());

  out.Family("petrel_nodes", "gauge", "Registered nodes by role and liveness.");
  std::map<std::pair<std::string, bool>, int> counts;
  for (const std::string role : {"SERVER", "WORKER"}) {
    counts[{role, true}] = counts[{role, false}] = 0;
  }
  for (const nlohmann::json& node : nodes) {
    ++counts[{node.value("role", ""), node.value("alive", false)}];
  }
  for (const auto& [key, count] : counts) {
    out.Sample("petrel_nodes", {{"role", key.first}, {"alive", key.second ? "true" : "false"}},
               count);
  }
  out.Family("petrel_node_seconds_since_heartbeat", "gauge",
             "Seconds since each node's last heartbeat.");
  for (const nlohmann::json& node : nodes) {
    out.Sample("petrel_node_seconds_since_heartbeat",
               {{"node", node.value("id", "")}, {"role", node.value("role", "")}},
               node.value("seconds_since_heartbeat", 0.0));
  }

  // One sample per job and state, 1 for the job's current state, so a
  // query like petrel_job_state{state="FAILED"} == 1 finds failed jobs.
  out.Family("petrel_job_state", "gauge", "1 for the job's current state, 0 for the others.");
  for (const nlohmann::json& job : jobs) {
    for (const char* state : kStates) {
      out.Sample("petrel_job_state", {{"job_id", job.value("job_id", "")}, {"state", state}},
                 job.value("state", "") == state ? 1 : 0);
    }
  }
  auto per_job = [&](const char* name, const char* type, const char* help, const char* key) {
    out.Family(name, type, help);
    for (const nlohmann::json& job : jobs) {
      if (!job.contains(key)) continue;
      out.Sample(name, {{"job_id", job.value("job_id", "")}}, job[key].get<double>());
    }
  };
  per_job("petrel_job_epoch", "gauge", "The slowest worker's epoch.", "epoch");
  per_job("petrel_job_train_loss", "gauge", "Mean training loss over the workers.", "train_loss");
  per_job("petrel_job_test_accuracy", "gauge", "Latest test accuracy.", "test_accuracy");
  per_job("petrel_job_samples_per_second", "gauge", "Training throughput, summed over workers.",
          "samples_per_second");
  per_job("petrel_job_max_observed_staleness_clocks", "gauge",
          "Largest staleness a pull observed on any server.", "max_observed_staleness");
  per_job("petrel_job_waited_pulls_total", "counter",
          "Pulls that waited at a staleness gate, over all servers.", "pulls_waited");
  per_job("petrel_federated_rounds_completed_total", "counter",
          "Federated rounds whose average the servers applied.", "federated_rounds_completed");
  per_job("petrel_federated_rounds_abandoned_total", "counter",
          "Federated rounds abandoned (too few uploads, or a survivor did not reveal).",
          "federated_rounds_abandoned");
  per_job("petrel_federated_workers_dropped_total", "counter",
          "Sampled workers dropped from federated rounds (deadline or departure).",
          "federated_workers_dropped");
  per_job("petrel_dp_epsilon", "gauge",
          "Differential privacy: the epsilon spent so far, at the job's dp.delta.", "dp_epsilon");

  out.Family("petrel_job_worker_clock", "gauge", "Each worker's reported clock.");
  for (const nlohmann::json& job : jobs) {
    for (const nlohmann::json& worker : job.value("workers", nlohmann::json::array())) {
      out.Sample("petrel_job_worker_clock",
                 {{"job_id", job.value("job_id", "")}, {"worker", worker.value("worker", "")}},
                 worker.value("clock", 0.0));
    }
  }
  WriteProcessMetrics(&out);
  return out.text();
}

}  // namespace petrel::coordinator

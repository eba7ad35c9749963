#include "server/shard_store.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace petrel::server {

void ShardStore::Reconcile(const std::vector<JobAssignment>& jobs) {
  std::vector<std::shared_ptr<JobShards>> dropped;  // destroyed after the lock is released
  absl::MutexLock lock(&mu_);
  std::set<std::string> listed;
  for (const JobAssignment& job : jobs) {
    listed.insert(job.job_id());
    auto it = jobs_.find(job.job_id());
    if (it != jobs_.end()) {
      it->second->set_state(job.state());
      continue;
    }
    auto shards = JobShards::Create(job, server_id_);
    if (!shards.ok()) {
      spdlog::error("cannot hold the shards of job {}: {}", job.job_id(),
                    shards.status().ToString());
      continue;
    }
    spdlog::info("holding shards of job {}", job.job_id());
    jobs_[job.job_id()] = std::move(*shards);
  }
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (listed.count(it->first) == 0) {
      spdlog::info("dropping shards of job {}: no longer assigned", it->first);
      dropped.push_back(std::move(it->second));
      it = jobs_.erase(it);
    } else {
      ++it;
    }
  }
}

absl::StatusOr<std::shared_ptr<JobShards>> ShardStore::Find(const std::string& job_id) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    return absl::NotFoundError(
        absl::StrCat("job ", job_id, " is not held by ", server_id_,
                     " (unknown job, or its placement has not reached this server yet)"));
  }
  return it->second;
}

void ShardStore::set_server_id(std::string server_id) {
  absl::MutexLock lock(&mu_);
  server_id_ = std::move(server_id);
}

std::vector<GateReport> ShardStore::GateReports(absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<GateReport> reports;
  for (const auto& [id, shards] : jobs_) reports.push_back(shards->Report(now));
  return reports;
}

void ShardStore::CheckStalls(absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [id, shards] : jobs_) shards->CheckStalls(now);
}

void ShardStore::CloseAll(const absl::Status& why) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [id, shards] : jobs_) shards->Close(why);
}

nlohmann::json ShardStore::StatusJson() const {
  absl::ReaderMutexLock lock(&mu_);
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& [id, shards] : jobs_) jobs.push_back(shards->StatusJson());
  return jobs;
}

}  // namespace petrel::server

#include "server/shard_store.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "checkpoint/checkpoint_cut.h"
#include "checkpoint/checkpoint_file.h"
#include "common/rpc/shard_map_epoch.h"
#include "spdlog/spdlog.h"

namespace petrel::server {
namespace {

// Builds group `group` of `job` as `server_id` holds it, restored from the
// attempt's checkpoint when it starts from one.
absl::StatusOr<std::unique_ptr<JobShards>> Build(const JobAssignment& job,
                                                 const std::string& server_id, int group) {
  absl::StatusOr<std::unique_ptr<JobShards>> shards = JobShards::Create(job, server_id, group);
  if (!shards.ok() || job.restore_from().empty()) return shards;
  const std::string file = GroupFile(job.restore_from(), group);
  absl::StatusOr<ShardCheckpoint> checkpoint = ReadCheckpointFile(file);
  if (!checkpoint.ok()) return checkpoint.status();
  if (checkpoint->clock() != job.restore_clock()) {
    return absl::FailedPreconditionError(absl::StrCat("checkpoint file ", file, " holds clock ",
                                                      checkpoint->clock(), ", not ",
                                                      job.restore_clock()));
  }
  absl::Status restored = (*shards)->Restore(*checkpoint);
  if (!restored.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(file, ": ", restored.message()));
  }
  spdlog::info("job {} group {} restored from {} (clock {})", job.job_id(), group, file,
               checkpoint->clock());
  return shards;
}

}  // namespace

void ShardStore::Reconcile(const std::vector<JobAssignment>& jobs) {
  std::vector<std::shared_ptr<JobShards>> dropped;  // destroyed after the lock is released
  std::vector<std::pair<std::shared_ptr<JobShards>, const JobAssignment*>> updates;
  {
    absl::MutexLock lock(&mu_);
    std::set<Key> listed;
    for (const JobAssignment& job : jobs) {
      for (const ShardGroup& group : job.shard_map().groups()) {
        bool mine = false;
        for (const std::string& server : group.servers()) mine |= server == server_id_;
        if (!mine) continue;
        const Key key{job.job_id(), group.id()};
        listed.insert(key);
        auto it = jobs_.find(key);
        if (it != jobs_.end() && it->second.attempt == job.attempt()) {
          updates.push_back({it->second.shards, &job});
          continue;
        }
        if (it != jobs_.end()) {
          spdlog::info("job {} restarts (attempt {}): rebuilding group {}", job.job_id(),
                       job.attempt(), group.id());
          dropped.push_back(std::move(it->second.shards));
          jobs_.erase(it);
        }
        if (errors_.count(key)) continue;  // reported; the coordinator fails the job
        auto shards = Build(job, server_id_, group.id());
        if (!shards.ok()) {
          spdlog::error("cannot hold group {} of job {}: {}", group.id(), job.job_id(),
                        shards.status().ToString());
          errors_[key] = std::string(shards.status().message());
          continue;
        }
        (*shards)->set_on_newer_epoch(on_newer_epoch_);
        spdlog::info("holding group {} of job {}", group.id(), job.job_id());
        jobs_[key] = {std::move(*shards), job.attempt()};
      }
    }
    for (auto it = jobs_.begin(); it != jobs_.end();) {
      if (listed.count(it->first) == 0) {
        spdlog::info("dropping group {} of job {}: no longer assigned here", it->first.second,
                     it->first.first);
        dropped.push_back(std::move(it->second.shards));
        it = jobs_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = errors_.begin(); it != errors_.end();) {
      it = listed.count(it->first) ? std::next(it) : errors_.erase(it);
    }
  }
  // Outside the store's lock: an update may answer waiting pulls.
  for (auto& [shards, job] : updates) shards->Update(*job);
}

absl::StatusOr<std::shared_ptr<JobShards>> ShardStore::Find(const std::string& job_id,
                                                            int group) const {
  absl::ReaderMutexLock lock(&mu_);
  auto it = jobs_.find({job_id, group});
  if (it == jobs_.end()) {
    // Typed (NOT_HELD): the worker reroutes on the reason, not on these words.
    return NotHeldError(absl::StrCat(
        "group ", group, " of job ", job_id, " is not held by ", server_id_,
        " (unknown job, or its placement has not reached this server yet)"));
  }
  return it->second.shards;
}

std::vector<std::shared_ptr<JobShards>> ShardStore::TransfersDue() const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<std::shared_ptr<JobShards>> due;
  for (const auto& [key, held] : jobs_) {
    if (!held.shards->TransferDue().empty()) due.push_back(held.shards);
  }
  return due;
}

void ShardStore::set_server_id(std::string server_id) {
  absl::MutexLock lock(&mu_);
  server_id_ = std::move(server_id);
}

std::vector<GateReport> ShardStore::GateReports(absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  std::vector<GateReport> reports;
  for (const auto& [key, held] : jobs_) reports.push_back(held.shards->Report(now));
  for (const auto& [key, error] : errors_) {
    GateReport report;
    report.set_job_id(key.first);
    report.set_group(key.second);
    report.set_error(error);
    reports.push_back(std::move(report));
  }
  return reports;
}

void ShardStore::CheckStalls(absl::Time now) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [key, held] : jobs_) held.shards->CheckStalls(now);
}

void ShardStore::CloseAll(const absl::Status& why) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [key, held] : jobs_) held.shards->Close(why);
}

nlohmann::json ShardStore::StatusJson() const {
  absl::ReaderMutexLock lock(&mu_);
  nlohmann::json jobs = nlohmann::json::array();
  for (const auto& [key, held] : jobs_) jobs.push_back(held.shards->StatusJson());
  return jobs;
}

}  // namespace petrel::server

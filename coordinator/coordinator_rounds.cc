// The coordinator service's part in federated jobs: workers' polls, and
// driving each job's rounds (coordinator/federated_rounds.h) from Tick.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/jobspec/partition.h"
#include "common/status_macros.h"
#include "coordinator/coordinator_service.h"

namespace petrel::coordinator {
namespace {

// The job's workers that have not departed.
std::vector<FederatedRounds::Worker> Live(const JobRecord& job) {
  std::vector<FederatedRounds::Worker> live;
  for (int rank = 0; rank < job.workers_size(); ++rank) {
    if (!job.workers(rank).departed()) live.push_back({job.workers(rank).worker_id(), rank});
  }
  return live;
}

}  // namespace

FederatedRounds& CoordinatorService::RoundsFor(const JobRecord& job) {
  const std::string& id = job.status().job_id();
  std::unique_ptr<FederatedRounds>& rounds = rounds_[id];
  if (rounds == nullptr) {
    // Picks up the rounds a restarted coordinator's state directory kept.
    rounds = std::make_unique<FederatedRounds>(id, job.status().spec(), job.status().federated());
  }
  return *rounds;
}

absl::Status CoordinatorService::FederatedRound(const RoundRequest& request, RoundInfo* response) {
  absl::MutexLock lock(&mu_);
  PETREL_ASSIGN_OR_RETURN(const JobRecord* job, jobs_.Record(request.job_id()));
  const JobSpec& spec = job->status().spec();
  if (spec.mode() != "federated") {
    return absl::InvalidArgumentError(absl::StrCat("job ", request.job_id(),
                                                   " is not federated (mode ",
                                                   spec.mode().empty() ? "sync" : spec.mode(), ")"));
  }
  response->set_state(job->status().state());
  if (job->status().state() != RUNNING) return absl::OkStatus();
  if (request.attempt() != job->attempt()) {
    return absl::AbortedError(absl::StrCat("job ", request.job_id(), " is at attempt ",
                                           job->attempt(), ", not ", request.attempt()));
  }
  const std::vector<FederatedRounds::Worker> live = Live(*job);
  const bool member = std::any_of(live.begin(), live.end(), [&](const FederatedRounds::Worker& w) {
    return w.id == request.worker_id();
  });
  if (!member) {
    return absl::AbortedError(absl::StrCat(request.worker_id(), " is not a worker of job ",
                                           request.job_id(), " (any more)"));
  }
  PETREL_ASSIGN_OR_RETURN(*response, RoundsFor(*job).Handle(request));
  return absl::OkStatus();
}

void CoordinatorService::DriveRounds() {
  struct Due {
    std::string job_id;
    CloseRoundRequest close;
    ShardMap map;
  };
  std::vector<Due> due;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    const std::vector<std::string> running = jobs_.RunningFederatedJobs();
    for (auto it = rounds_.begin(); it != rounds_.end();) {
      const bool still = std::find(running.begin(), running.end(), it->first) != running.end();
      it = still ? std::next(it) : rounds_.erase(it);
    }
    for (const std::string& id : running) {
      absl::StatusOr<const JobRecord*> job = jobs_.Record(id);
      if (!job.ok()) continue;
      FederatedRounds& rounds = RoundsFor(**job);
      const int64_t completed = rounds.status().rounds_completed();
      std::optional<CloseRoundRequest> close = rounds.Advance(Live(**job), now);
      if (close) due.push_back({id, std::move(*close), (*job)->shard_map()});
      jobs_.SetFederatedStatus(id, rounds.status(),
                               /*save=*/rounds.status().rounds_completed() != completed);
    }
  }
  if (due.empty()) return;
  // The servers apply the rounds without the lock held.
  std::vector<absl::Status> outcomes;
  for (const Due& d : due) {
    outcomes.push_back(CloseOnServers(d.close, d.map));
  }
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < due.size(); ++i) {
    auto it = rounds_.find(due[i].job_id);
    if (it == rounds_.end()) continue;
    it->second->Closed(due[i].close.round(), outcomes[i], absl::Now());
    jobs_.SetFederatedStatus(due[i].job_id, it->second->status(), /*save=*/true);
  }
  SaveIfChanged();
}

absl::Status CoordinatorService::CloseOnServers(CloseRoundRequest close, const ShardMap& map) {
  close.set_shard_map_epoch(map.epoch());
  for (const ShardGroup& group : map.groups()) {
    close.set_shard_group(group.id());
    // Every replica applies the round (the same noise seed keeps them equal).
    for (int k = 0; k < ReadyServers(group) && k < group.addresses_size(); ++k) {
      PETREL_RETURN_IF_ERROR(
          round_closer_->CloseRound(group.servers(k), group.addresses(k), close));
    }
  }
  return absl::OkStatus();
}

}  // namespace petrel::coordinator

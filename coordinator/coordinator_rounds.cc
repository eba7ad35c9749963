// The coordinator service's part in federated jobs: workers' polls, and
// driving each job's rounds (coordinator/federated_rounds.h) from Tick.
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/partition.h"
#include "common/rpc.h"
#include "common/status_macros.h"
#include "coordinator/coordinator_service.h"
#include "proto/parameter.grpc.pb.h"

namespace petrel::coordinator {
namespace {

// A server applies a round in milliseconds; this leaves room for a busy one.
constexpr absl::Duration kCloseTimeout = absl::Seconds(30);

std::vector<FederatedRounds::Worker> Live(const JobManager& jobs, const std::string& job_id) {
  std::vector<FederatedRounds::Worker> live;
  for (const auto& [id, rank] : jobs.LiveWorkers(job_id)) live.push_back({id, rank});
  return live;
}

}  // namespace

absl::Status CoordinatorService::FederatedRound(const RoundRequest& request, RoundInfo* response) {
  absl::MutexLock lock(&mu_);
  const absl::Time now = absl::Now();
  PETREL_ASSIGN_OR_RETURN(JobStatus job, jobs_.Get(request.job_id(), now));
  if (job.spec().mode() != "federated") {
    return absl::InvalidArgumentError(
        absl::StrCat("job ", request.job_id(), " is not federated (mode ",
                     job.spec().mode().empty() ? "sync" : job.spec().mode(), ")"));
  }
  response->set_state(job.state());
  if (job.state() != RUNNING) return absl::OkStatus();
  if (request.attempt() != job.attempt()) {
    return absl::AbortedError(absl::StrCat("job ", request.job_id(), " is at attempt ",
                                           job.attempt(), ", not ", request.attempt()));
  }
  bool member = false;
  for (const auto& [id, rank] : jobs_.LiveWorkers(request.job_id())) member |= id == request.worker_id();
  if (!member) {
    return absl::AbortedError(absl::StrCat(request.worker_id(), " is not a worker of job ",
                                           request.job_id(), " (any more)"));
  }
  std::unique_ptr<FederatedRounds>& rounds = rounds_[request.job_id()];
  if (rounds == nullptr) {
    rounds = std::make_unique<FederatedRounds>(request.job_id(), job.spec(), job.federated());
  }
  PETREL_ASSIGN_OR_RETURN(RoundInfo info, rounds->Handle(request));
  *response = std::move(info);
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
      std::unique_ptr<FederatedRounds>& rounds = rounds_[id];
      if (rounds == nullptr) {
        absl::StatusOr<JobStatus> job = jobs_.Get(id, now);
        if (!job.ok()) continue;
        rounds = std::make_unique<FederatedRounds>(id, job->spec(), job->federated());
      }
      const int64_t completed = rounds->status().rounds_completed();
      std::optional<CloseRoundRequest> close = rounds->Advance(Live(jobs_, id), now);
      jobs_.SetFederatedStatus(id, rounds->status(),
                               /*save=*/rounds->status().rounds_completed() != completed);
      if (!close) continue;
      absl::StatusOr<ShardMap> map = jobs_.GetShardMap(id);
      if (!map.ok()) {
        rounds->Closed(close->round(), map.status(), now);
        continue;
      }
      due.push_back({id, std::move(*close), std::move(*map)});
    }
  }
  if (due.empty()) return;
  // The servers apply the rounds without the lock held.
  std::vector<absl::Status> outcomes;
  for (const Due& d : due) {
    outcomes.push_back(options_.close_round ? options_.close_round(d.close, d.map)
                                            : CloseOnServers(d.close, d.map));
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
      auto stub = Parameter::NewStub(MakeChannel(group.addresses(k)));
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + kCloseTimeout));
      CloseRoundResponse response;
      PETREL_RETURN_IF_ERROR(FromGrpcStatus(
          stub->CloseRound(&context, close, &response),
          absl::StrCat("CloseRound of round ", close.round(), " on ", group.servers(k))));
    }
  }
  return absl::OkStatus();
}

}  // namespace petrel::coordinator

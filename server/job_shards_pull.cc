// Pulls: answered at once when the staleness gate (and any checkpoint cut)
// lets them through, parked otherwise until a push or a departure opens the
// gate (ReleaseReady, job_shards_push.cc); and the reports on them.
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "server/job_shards.h"
#include "spdlog/spdlog.h"

namespace petrel::server {
namespace {

std::string DescribeLate(const std::vector<WorkerClock>& late) {
  std::vector<std::string> parts;
  for (const WorkerClock& worker : late) {
    parts.push_back(absl::StrCat(worker.worker_id(), " (clock ", worker.clock(), ")"));
  }
  return parts.empty() ? "nobody" : absl::StrJoin(parts, ", ");
}

}  // namespace

absl::Status JobShards::Serve(const PullRequest& request, PullResponse* response) {
  PETREL_ASSIGN_OR_RETURN(const int64_t bytes, tables_->Serve(request, response));
  counters_.pulls += 1;
  counters_.bytes_out += bytes;
  return absl::OkStatus();
}

bool JobShards::OwnPushIn(const PullRequest& request) const {
  absl::StatusOr<int> rank = gate_.RankOf(request.worker_id());
  return !rank.ok() || gate_.AlreadyPushed(*rank, request.clock() - 1);
}

bool JobShards::TryAnswer(const PullRequest& request, PullResponse* response,
                          absl::Status* status, bool after_push) {
  if (!closed_.ok()) {
    *status = closed_;
    return true;
  }
  if (*status = CheckEpoch(request.shard_map_epoch()); !status->ok()) return true;
  if (chain_.awaiting_state()) {
    *status = chain_.RebuildingError();
    return true;
  }
  if (request.observer()) {
    *status = Serve(request, response);
    return true;
  }
  // Bad slices and clocks are refused before the pull may wait.
  if (*status = tables_->CheckPull(request); !status->ok()) return true;
  // A push-pull's parts answer once the last of them is in.
  if (after_push && !OwnPushIn(request)) return false;
  absl::StatusOr<int> rank = gate_.RankOf(request.worker_id());
  *status = rank.ok() ? gate_.CheckPull(*rank, request.clock()) : rank.status();
  if (!status->ok()) return true;
  if (!PullReady(request.clock())) return false;
  gate_.RecordServed(request.clock(), /*waited=*/false);
  *status = Serve(request, response);
  return true;
}

void JobShards::Pull(const PullRequest& request, PullResponse* response, Done done) {
  PullImpl(request, response, std::move(done), /*after_push=*/false);
}

void JobShards::PullAfterPush(const PullRequest& request, PullResponse* response, Done done) {
  PullImpl(request, response, std::move(done), /*after_push=*/true);
}

void JobShards::PullImpl(const PullRequest& request, PullResponse* response, Done done,
                         bool after_push) {
  absl::Status status;
  bool answered;
  {
    // Most pulls are answered at once: under a shared lock, in parallel.
    absl::ReaderMutexLock lock(&mu_);
    answered = TryAnswer(request, response, &status, after_push);
  }
  if (!answered) {
    absl::MutexLock lock(&mu_);
    // A push may have opened the gate in between.
    answered = TryAnswer(request, response, &status, after_push);
    if (!answered) {
      WaitingPull& waiting = waiting_.emplace_back();
      waiting.request = &request;
      waiting.response = response;
      waiting.done = std::move(done);
      waiting.since = absl::Now();
      waiting.after_push = after_push;
      return;
    }
  }
  done(status);
}

void JobShards::CheckStalls(absl::Time now) {
  absl::MutexLock lock(&mu_);
  for (WaitingPull& pull : waiting_) {
    if (pull.stall_logged || now - pull.since < stall_timeout_) continue;
    pull.stall_logged = true;
    spdlog::warn("job {}: the pull of {} for clock {} has waited {:.1f} s (stall timeout {:.0f} s) "
                 "for {}",
                 job_id_, pull.request->worker_id(), pull.request->clock(),
                 absl::ToDoubleSeconds(now - pull.since), absl::ToDoubleSeconds(stall_timeout_),
                 DescribeLate(gate_.LateFor(pull.request->clock())));
  }
}

GateReport JobShards::Report(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  GateReport report;
  report.set_job_id(job_id_);
  for (WorkerClock& clock : gate_.Clocks()) *report.add_clocks() = std::move(clock);
  const int64_t min = gate_.MinClock();
  report.set_min_clock(min == std::numeric_limits<int64_t>::max() ? -1 : min);
  report.set_max_observed_staleness(gate_.max_observed_staleness());
  report.set_pulls_waited(gate_.pulls_waited());
  report.set_group(group_);
  report.set_primary(chain_.primary());
  report.set_checkpointed_clock(checkpointed_clock());
  for (const std::string& server : chain_.sent()) report.add_installed(server);
  for (const WaitingPull& pull : waiting_) {
    if (now - pull.since < stall_timeout_) continue;
    StalledPull* stall = report.add_stalls();
    stall->set_worker_id(pull.request->worker_id());
    stall->set_clock(pull.request->clock());
    stall->set_seconds(absl::ToDoubleSeconds(now - pull.since));
    for (WorkerClock& late : gate_.LateFor(pull.request->clock())) {
      *stall->add_late() = std::move(late);
    }
  }
  return report;
}

nlohmann::json JobShards::StatusJson() const {
  const GateReport gate = Report(absl::Now());
  absl::MutexLock lock(&mu_);
  nlohmann::json clocks = nlohmann::json::object();
  for (const WorkerClock& clock : gate.clocks()) clocks[clock.worker_id()] = clock.clock();
  nlohmann::json stalls = nlohmann::json::array();
  for (const StalledPull& stall : gate.stalls()) {
    nlohmann::json late = nlohmann::json::array();
    for (const WorkerClock& worker : stall.late()) {
      late.push_back({{"worker", worker.worker_id()}, {"clock", worker.clock()}});
    }
    stalls.push_back({{"waiting_worker", stall.worker_id()}, {"clock", stall.clock()},
                      {"seconds", stall.seconds()}, {"late", late}});
  }
  const absl::Time promoted = chain_.promoted();
  const absl::Time first_push = chain_.first_push_as_primary();
  return {{"job_id", job_id_},
          {"group", group_},
          {"role", chain_.primary() ? "primary" : "backup"},
          {"chain", chain_.servers()},
          {"shard_map_epoch", chain_.epoch()},
          {"checkpointed_clock", checkpointed_clock()},
          {"promoted_unix",
           promoted == absl::InfinitePast() ? 0.0 : absl::ToUnixMicros(promoted) / 1e6},
          {"first_push_as_primary_unix",
           first_push == absl::InfinitePast() ? 0.0 : absl::ToUnixMicros(first_push) / 1e6},
          {"state", JobState_Name(state_)},
          {"shards", tables_->DenseJson()},
          {"sparse_tables", tables_->SparseJson()},
          {"staleness", gate_.staleness()},
          {"worker_clocks", clocks},
          {"min_clock", gate.min_clock()},
          {"max_observed_staleness", gate.max_observed_staleness()},
          {"pulls_waiting", waiting_.size()},
          {"pulls_waited", gate.pulls_waited()},
          {"stalls", stalls},
          {"pulls_served", counters_.pulls.load()},
          {"pushes_served", counters_.pushes.load()},
          {"bytes_in", counters_.bytes_in.load()},
          {"bytes_out", counters_.bytes_out.load()},
          {"apply_seconds", counters_.apply_nanos.load() / 1e9}};
}

}  // namespace petrel::server

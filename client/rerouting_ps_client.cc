#include "client/rerouting_ps_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "common/rpc/shard_map_epoch.h"
#include "spdlog/spdlog.h"

namespace petrel::worker {
namespace {

// The gRPC client's own retries stay short: past this the map is fetched
// again, since a server that stays unreachable has usually been replaced.
constexpr absl::Duration kInnerRetry = absl::Milliseconds(300);

PsClientOptions Inner(PsClientOptions options) {
  options.retry_timeout = std::min(options.retry_timeout, kInnerRetry);
  return options;
}

}  // namespace

bool NeedsReroute(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status) ||
         IsStaleShardMap(status) || IsNotHeld(status);
}

ReroutingPsClient::ReroutingPsClient(const ShardMap& map, PsClientOptions options,
                                     ReroutingOptions rerouting)
    : options_(Inner(std::move(options))),
      rerouting_(std::move(rerouting)),
      epoch_(map.epoch()),
      attempt_(map.attempt()),
      inner_(rerouting_.make_client(map, options_)) {}

absl::Status ReroutingPsClient::Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                                     SparseStep* sparse) {
  return Retry("pull", [&](PsClient& ps) { return ps.Pull(clock, tables, sparse); });
}

absl::Status ReroutingPsClient::Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                                     const SparseStep* sparse) {
  return Retry("push", [&](PsClient& ps) { return ps.Push(clock, gradients, sparse); });
}

absl::Status ReroutingPsClient::PushPull(int64_t clock,
                                         const std::vector<std::vector<float>>& gradients,
                                         std::vector<std::vector<float>>* next) {
  // A retry after the push was applied is recognised and only answered.
  return Retry("push-pull", [&](PsClient& ps) { return ps.PushPull(clock, gradients, next); });
}

absl::Status ReroutingPsClient::PushRoundUpdate(int64_t round,
                                                const std::vector<std::vector<uint64_t>>& update,
                                                uint64_t weight) {
  return Retry("upload", [&](PsClient& ps) { return ps.PushRoundUpdate(round, update, weight); });
}

absl::Status ReroutingPsClient::Leave(int64_t clock) {
  return Retry("leave", [&](PsClient& ps) { return ps.Leave(clock); });
}

absl::Status ReroutingPsClient::Retry(const char* what,
                                      const std::function<absl::Status(PsClient&)>& call) {
  const absl::Time give_up = absl::Now() + rerouting_.give_up_after;
  absl::Duration backoff = absl::Milliseconds(10);
  bool reported = false;
  while (true) {
    absl::Status status = call(*inner_);
    if (status.ok() || !NeedsReroute(status) || absl::Now() >= give_up ||
        rerouting_.stop_requested()) {
      return status;
    }
    if (!reported && (absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status))) {
      spdlog::warn("{} failed ({}); asking the coordinator to check the job's servers", what,
                   status.ToString());
      rerouting_.report_unreachable(std::string(status.message()));
      reported = true;
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Milliseconds(200));
    absl::StatusOr<ShardMap> map = rerouting_.fetch_map();
    if (!map.ok()) {
      if (absl::IsFailedPrecondition(map.status()) || absl::IsNotFound(map.status())) {
        return map.status();  // the job is gone or no longer placed
      }
      continue;  // the coordinator may be restarting
    }
    if (map->attempt() != attempt_) {
      return absl::AbortedError(absl::StrCat("the job restarted from a checkpoint (attempt ",
                                             map->attempt(), "); this attempt's trainer stops"));
    }
    if (map->epoch() == epoch_) continue;
    spdlog::info("{}: shard map epoch {} -> {}; retrying on the new placement", what, epoch_,
                 map->epoch());
    epoch_ = map->epoch();
    inner_ = rerouting_.make_client(*map, options_);
    reported = false;
    backoff = absl::Milliseconds(10);
  }
}

}  // namespace petrel::worker

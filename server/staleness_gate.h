// The clock logic of stale synchronous parallel for one job on one server
// shard (../shared/DESIGN.md, "Consistency"). Worker q's clock c_q counts the
// clocks it has pushed here. A pull for clock c may be answered once every
// worker still in the clock set has c_q >= c - s (s = 0: BSP, s = k: SSP(k);
// async never waits). A worker that finished leaves the set. This class only
// keeps the clocks and decides; JobShards holds the data and the waiting
// calls. Not thread-safe: JobShards serialises access, except that
// RecordServed and the const calls may run under a shared lock (answering
// pulls in parallel), so the statistics it updates are atomic.
#ifndef PETREL_SERVER_STALENESS_GATE_H_
#define PETREL_SERVER_STALENESS_GATE_H_

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/coordinator.pb.h"

namespace petrel::server {

class StalenessGate {
 public:
  static constexpr int kAsync = -1;

  // `worker_ids` in rank order; `staleness` >= 0, or kAsync.
  StalenessGate(std::vector<std::string> worker_ids, int staleness);

  int staleness() const { return staleness_; }
  bool bsp() const { return staleness_ == 0; }
  int num_workers() const { return static_cast<int>(clocks_.size()); }

  // The worker's rank, or NOT_FOUND naming it.
  absl::StatusOr<int> RankOf(const std::string& worker_id) const;

  // A push must be for the worker's next clock, from a worker still in the set.
  absl::Status CheckPush(int rank, int64_t clock) const;
  // A push for a clock the worker has already pushed here: a retry (after a
  // lost answer or a failover), acknowledged without applying it again.
  bool AlreadyPushed(int rank, int64_t clock) const { return clock < clocks_[rank]; }
  bool left(int rank) const { return left_[rank]; }
  const std::string& worker_id(int rank) const { return worker_ids_[rank]; }
  // A replacement takes over `rank`: it is in the clock set again, having
  // pushed every clock below `clock`.
  void SetWorker(int rank, std::string worker_id, int64_t clock) {
    worker_ids_[rank] = std::move(worker_id);
    clocks_[rank] = clock;
    left_[rank] = false;
  }
  void RecordPush(int rank) { ++clocks_[rank]; }
  // Resuming from a checkpoint taken at `clock`: every worker's next push
  // is for `clock`, and no one has left.
  void ResumeAt(int64_t clock) {
    std::fill(clocks_.begin(), clocks_.end(), clock);
    std::fill(left_.begin(), left_.end(), false);
  }
  void Leave(int rank) { left_[rank] = true; }

  // A pull may not claim a clock the worker has not reached.
  absl::Status CheckPull(int rank, int64_t clock) const;
  bool Ready(int64_t clock) const;
  // Records an answered pull: the staleness it observed, and whether it waited.
  void RecordServed(int64_t clock, bool waited);

  // Smallest clock of the workers still in the set; INT64_MAX when none is.
  int64_t MinClock() const;
  // Whether every worker still in the set has pushed `clock` (BSP applies it then).
  bool Complete(int64_t clock) const { return MinClock() > clock; }
  // Workers still in the set whose clock is below clock - s: whom a pull for
  // `clock` waits for.
  std::vector<WorkerClock> LateFor(int64_t clock) const;

  int64_t max_observed_staleness() const { return max_observed_.load(); }
  int64_t pulls_waited() const { return pulls_waited_.load(); }
  std::vector<WorkerClock> Clocks() const;

 private:
  std::vector<std::string> worker_ids_;
  const int staleness_;
  std::vector<int64_t> clocks_;
  std::vector<bool> left_;
  std::atomic<int64_t> max_observed_{0};
  std::atomic<int64_t> pulls_waited_{0};
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_STALENESS_GATE_H_

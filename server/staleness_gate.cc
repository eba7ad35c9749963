#include "server/staleness_gate.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"

namespace petrel::server {

StalenessGate::StalenessGate(std::vector<std::string> worker_ids, int staleness)
    : worker_ids_(std::move(worker_ids)),
      staleness_(staleness),
      clocks_(worker_ids_.size(), 0),
      left_(worker_ids_.size(), false) {}

absl::StatusOr<int> StalenessGate::RankOf(const std::string& worker_id) const {
  for (size_t rank = 0; rank < worker_ids_.size(); ++rank) {
    if (worker_ids_[rank] == worker_id) return static_cast<int>(rank);
  }
  return absl::NotFoundError(absl::StrCat("\"", worker_id, "\" is not a worker of this job"));
}

absl::Status StalenessGate::CheckPush(int rank, int64_t clock) const {
  if (left_[rank]) {
    return absl::FailedPreconditionError(
        absl::StrCat(worker_ids_[rank], " already left the job's clock set"));
  }
  if (clock != clocks_[rank]) {
    return absl::FailedPreconditionError(absl::StrCat(
        "push for clock ", clock, " from ", worker_ids_[rank], ", whose next clock is ",
        clocks_[rank], "; pushes must come once per clock, in order"));
  }
  return absl::OkStatus();
}

absl::Status StalenessGate::CheckPull(int rank, int64_t clock) const {
  if (clock < 0 || clock > clocks_[rank]) {
    return absl::FailedPreconditionError(absl::StrCat(
        "pull for clock ", clock, " from ", worker_ids_[rank], ", which has pushed ",
        clocks_[rank], " clocks; a worker may pull only for clocks it has reached"));
  }
  return absl::OkStatus();
}

int64_t StalenessGate::MinClock() const {
  int64_t min = std::numeric_limits<int64_t>::max();
  for (size_t rank = 0; rank < clocks_.size(); ++rank) {
    if (!left_[rank]) min = std::min(min, clocks_[rank]);
  }
  return min;
}

bool StalenessGate::Ready(int64_t clock) const {
  return staleness_ == kAsync || MinClock() >= clock - staleness_;
}

void StalenessGate::RecordServed(int64_t clock, bool waited) {
  const int64_t min = MinClock();
  if (min != std::numeric_limits<int64_t>::max()) {
    int64_t seen = max_observed_.load();
    while (clock - min > seen && !max_observed_.compare_exchange_weak(seen, clock - min)) {
    }
  }
  if (waited) ++pulls_waited_;
}

std::vector<WorkerClock> StalenessGate::LateFor(int64_t clock) const {
  std::vector<WorkerClock> late;
  for (const WorkerClock& worker : Clocks()) {
    if (!worker.left() && worker.clock() < clock - std::max(staleness_, 0)) late.push_back(worker);
  }
  return late;
}

std::vector<WorkerClock> StalenessGate::Clocks() const {
  std::vector<WorkerClock> clocks;
  for (size_t rank = 0; rank < clocks_.size(); ++rank) {
    WorkerClock worker;
    worker.set_worker_id(worker_ids_[rank]);
    worker.set_clock(clocks_[rank]);
    worker.set_left(left_[rank]);
    clocks.push_back(std::move(worker));
  }
  return clocks;
}

}  // namespace petrel::server

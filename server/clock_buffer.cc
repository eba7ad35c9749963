#include "server/clock_buffer.h"

#include <utility>

namespace petrel::server {

bool ClockBuffer::Hold(int rank, PushView* push) {
  const int64_t clock = push->header.clock();
  if (bsp_) {
    auto& by_rank = held_[clock];
    by_rank.resize(num_workers_);
    Retain(push);
    by_rank[rank].push_back(std::move(*push));
    return true;
  }
  if (checkpoint_every_ > 0 && clock >= next_cut_) {
    Retain(push);
    deferred_.push_back(std::move(*push));
    return true;
  }
  return false;
}

std::optional<ClockBuffer::Clock> ClockBuffer::TakeCompleteClock(int64_t min_clock) {
  if (held_.empty() || min_clock <= held_.begin()->first) return std::nullopt;
  auto oldest = held_.begin();
  Clock complete{oldest->first, std::move(oldest->second)};
  held_.erase(oldest);
  return complete;
}

std::vector<PushView> ClockBuffer::PassCut() {
  next_cut_ += checkpoint_every_;
  std::vector<PushView> due;
  std::vector<PushView> later;
  for (PushView& push : deferred_) {
    (push.header.clock() < next_cut_ ? due : later).push_back(std::move(push));
  }
  deferred_ = std::move(later);
  return due;
}

void ClockBuffer::ExportTo(ReplicaState* state) const {
  // Held pushes travel as whole requests (a copy, once per rebuild).
  for (const auto& [clock, by_rank] : held_) {
    for (const auto& parts : by_rank) {
      for (const PushView& part : parts) ToRequest(part).SerializeToString(state->add_held_pushes());
    }
  }
  for (const PushView& push : deferred_) ToRequest(push).SerializeToString(state->add_held_pushes());
  state->set_next_cut(next_cut_);
  for (PendingParts& pending : parts_.Export()) *state->add_pending() = std::move(pending);
}

void ClockBuffer::ImportHeld(std::vector<std::pair<int, PushView>> pushes,
                             const ReplicaState& state) {
  held_.clear();
  deferred_.clear();
  for (auto& [rank, push] : pushes) {
    if (!bsp_) {
      deferred_.push_back(std::move(push));
      continue;
    }
    auto& by_rank = held_[push.header.clock()];
    by_rank.resize(num_workers_);
    by_rank[rank].push_back(std::move(push));
  }
  next_cut_ = state.next_cut();
  for (const PendingParts& pending : state.pending()) parts_.Import(pending);
}

void ClockBuffer::ResumeAt(int64_t clock) {
  held_.clear();
  deferred_.clear();
  if (checkpoint_every_ > 0) next_cut_ = (clock / checkpoint_every_ + 1) * checkpoint_every_;
}

}  // namespace petrel::server

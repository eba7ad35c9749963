// The pushes one shard group has taken but not applied yet, and which parts
// of each worker's current push are in (server/push_parts.h).
//
// Under BSP (staleness 0) every push is held until its clock is complete
// (every worker still in the clock set has pushed it); the clock's pushes
// then leave, by rank and in the parts they came in, to be summed in rank
// order. Under SSP and async with checkpoints, pushes for clocks from the
// next cut on are deferred until every worker has pushed the clocks before
// the cut: then the cut is taken and they leave, in arrival order. Every
// held push is a view that owns its bytes.
//
// Not thread-safe: JobShards serialises access under its mutex (CutHolds
// and the other const calls may run under a shared lock).
#ifndef PETREL_SERVER_CLOCK_BUFFER_H_
#define PETREL_SERVER_CLOCK_BUFFER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "common/wire/push_view.h"
#include "proto/checkpoint.pb.h"
#include "server/push_parts.h"

namespace petrel::server {

class ClockBuffer {
 public:
  // `checkpoint_every` > 0: the job takes a cut every that many clocks.
  ClockBuffer(int num_workers, bool bsp, int checkpoint_every)
      : num_workers_(num_workers),
        bsp_(bsp),
        checkpoint_every_(checkpoint_every),
        next_cut_(checkpoint_every),
        parts_(num_workers) {}

  // Parts of a split push (server/push_parts.h).
  bool SeenPart(int rank, int64_t clock, int part, int parts) const {
    return parts_.Seen(rank, clock, part, parts);
  }
  absl::Status CheckPart(int rank, int64_t clock, int part, int parts) const {
    return parts_.Check(rank, clock, part, parts);
  }
  // Records a checked part; true when it completes the clock's push.
  bool RecordPart(int rank, int64_t clock, int part, int parts) {
    return parts_.Record(rank, clock, part, parts);
  }
  void ResetParts(int rank) { parts_.Reset(rank); }

  // Takes a checked push of `rank` that must wait (BSP: always; otherwise
  // from the next cut on): true, and `push` is held (retained: a view
  // without an owner is copied). False: the caller applies it now.
  bool Hold(int rank, PushView* push);

  // BSP: the oldest held clock, if every worker still in the clock set has
  // pushed it (`min_clock` is the gate's MinClock): its pushes by rank, no
  // longer held.
  struct Clock {
    int64_t clock = 0;
    std::vector<std::vector<PushView>> by_rank;
  };
  std::optional<Clock> TakeCompleteClock(int64_t min_clock);
  // BSP: whether the clock just applied ends a checkpoint interval (a
  // consistent cut at clock + 1).
  bool CutAfter(int64_t clock) const {
    return checkpoint_every_ > 0 && (clock + 1) % checkpoint_every_ == 0;
  }

  // Whether BSP holds any clock, and whether the job takes cuts at all:
  // when not, callers need not compute the gate's MinClock.
  bool holds_clocks() const { return !held_.empty(); }
  bool cuts() const { return checkpoint_every_ > 0; }
  // SSP/async: whether a pull for `clock` must wait for the next cut.
  bool CutHolds(int64_t clock, int64_t min_clock) const {
    return checkpoint_every_ > 0 && !bsp_ && clock > next_cut_ && min_clock < next_cut_;
  }
  // SSP/async: whether every worker has pushed the clocks before the next cut.
  bool CutDue(int64_t min_clock) const {
    return checkpoint_every_ > 0 && min_clock >= next_cut_;
  }
  int64_t next_cut() const { return next_cut_; }
  // Moves past the cut just taken: the deferred pushes now due, in arrival
  // order, leave; those for clocks from the following cut on stay.
  std::vector<PushView> PassCut();

  // Rebuilding a replica: every held push (by clock, then rank, then part;
  // then the deferred ones), the next cut and the parts under way, into
  // `state`; and taking them in: `pushes` (each with its rank, in that
  // order, parsed from `state`) in place of what was held, and `state`'s
  // next cut and parts under way.
  void ExportTo(ReplicaState* state) const;
  void ImportHeld(std::vector<std::pair<int, PushView>> pushes, const ReplicaState& state);

  // Resuming from a checkpoint at `clock`: nothing held, the next cut after it.
  void ResumeAt(int64_t clock);

 private:
  const int num_workers_;
  const bool bsp_;
  const int checkpoint_every_;
  // SSP/async checkpoints: the clock of the next cut, and the pushes for it
  // and later, in arrival order, waiting for it to be taken.
  int64_t next_cut_;
  std::vector<PushView> deferred_;
  // BSP: clock -> the pushes of that clock held so far, by rank (each push
  // as the parts it came in).
  std::map<int64_t, std::vector<std::vector<PushView>>> held_;
  PushParts parts_;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_CLOCK_BUFFER_H_

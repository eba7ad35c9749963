// Which parts of each worker's current push have arrived. A worker may split
// one clock's push to a server into `parts` requests (large tensors travel
// as chunks of a few megabytes, so the server applies one while the next is
// on the wire); the clock counts as pushed once every part is in. A push
// with parts <= 1 is whole. Not thread-safe: JobShards serialises access.
#ifndef PETREL_SERVER_PUSH_PARTS_H_
#define PETREL_SERVER_PUSH_PARTS_H_

#include <cstdint>
#include <vector>

#include <algorithm>

#include "absl/status/status.h"
#include "proto/checkpoint.pb.h"

namespace petrel::server {

class PushParts {
 public:
  explicit PushParts(int num_workers) : pending_(num_workers) {}

  // Whether part `part` of `parts` of `rank`'s push for `clock` may be taken:
  // a valid index, not seen before, the same `parts` as the clock's earlier
  // parts, and no other clock's push still incomplete. Changes nothing.
  absl::Status Check(int rank, int64_t clock, int part, int parts) const;

  // Records a checked part; true when it completes the clock's push.
  bool Record(int rank, int64_t clock, int part, int parts);

  // Parts of `rank`'s push still missing (0 when none is under way).
  int Missing(int rank) const;

  // Whether this part of `rank`'s push for `clock` is already in (a retry
  // of the same part of the same split).
  bool Seen(int rank, int64_t clock, int part, int parts) const {
    const Pending& pending = pending_[rank];
    return pending.clock == clock && parts == static_cast<int>(pending.seen.size()) &&
           part >= 0 && part < parts && pending.seen[part];
  }
  // Forgets `rank`'s push under way (its worker was replaced).
  void Reset(int rank) { pending_[rank] = Pending(); }

  // The pushes under way, for a replica being rebuilt, and back.
  std::vector<PendingParts> Export() const {
    std::vector<PendingParts> out;
    for (size_t rank = 0; rank < pending_.size(); ++rank) {
      if (pending_[rank].seen.empty()) continue;
      PendingParts parts;
      parts.set_rank(static_cast<int>(rank));
      parts.set_clock(pending_[rank].clock);
      for (bool seen : pending_[rank].seen) parts.add_seen(seen);
      out.push_back(std::move(parts));
    }
    return out;
  }
  void Import(const PendingParts& parts) {
    if (parts.rank() < 0 || parts.rank() >= static_cast<int>(pending_.size())) return;
    Pending& pending = pending_[parts.rank()];
    pending.clock = parts.clock();
    pending.seen.assign(parts.seen().begin(), parts.seen().end());
    pending.count = static_cast<int>(std::count(pending.seen.begin(), pending.seen.end(), true));
  }

 private:
  struct Pending {
    int64_t clock = -1;
    std::vector<bool> seen;  // empty: no push under way
    int count = 0;
  };
  std::vector<Pending> pending_;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_PUSH_PARTS_H_

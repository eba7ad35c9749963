// Which parts of each worker's current push have arrived. A worker may split
// one clock's push to a server into `parts` requests (large tensors travel
// as chunks of a few megabytes, so the server applies one while the next is
// on the wire); the clock counts as pushed once every part is in. A push
// with parts <= 1 is whole. Not thread-safe: JobShards serialises access.
#ifndef PETREL_SERVER_PUSH_PARTS_H_
#define PETREL_SERVER_PUSH_PARTS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"

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

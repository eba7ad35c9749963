#include "server/push_parts.h"

#include "absl/strings/str_cat.h"

namespace petrel::server {

absl::Status PushParts::Check(int rank, int64_t clock, int part, int parts) const {
  const Pending& pending = pending_[rank];
  if (parts <= 1) {
    if (part != 0) {
      return absl::InvalidArgumentError(absl::StrCat("push part ", part, " of a whole push"));
    }
    if (!pending.seen.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "a whole push for clock ", clock, " while ", Missing(rank), " part(s) of clock ",
          pending.clock, " are still missing"));
    }
    return absl::OkStatus();
  }
  if (part < 0 || part >= parts) {
    return absl::InvalidArgumentError(
        absl::StrCat("push part ", part, " is outside [0, ", parts, ")"));
  }
  if (pending.seen.empty()) return absl::OkStatus();
  if (pending.clock != clock) {
    return absl::FailedPreconditionError(
        absl::StrCat("a push part for clock ", clock, " while ", Missing(rank),
                     " part(s) of clock ", pending.clock, " are still missing"));
  }
  if (static_cast<int>(pending.seen.size()) != parts) {
    return absl::InvalidArgumentError(absl::StrCat("push for clock ", clock, " announced ",
                                                   pending.seen.size(), " parts, now ", parts));
  }
  if (pending.seen[part]) {
    return absl::InvalidArgumentError(
        absl::StrCat("push part ", part, " of clock ", clock, " arrived twice"));
  }
  return absl::OkStatus();
}

bool PushParts::Record(int rank, int64_t clock, int part, int parts) {
  if (parts <= 1) return true;
  Pending& pending = pending_[rank];
  if (pending.seen.empty()) {
    pending.clock = clock;
    pending.seen.assign(parts, false);
    pending.count = 0;
  }
  pending.seen[part] = true;
  if (++pending.count < parts) return false;
  pending = Pending();
  return true;
}

int PushParts::Missing(int rank) const {
  const Pending& pending = pending_[rank];
  return pending.seen.empty() ? 0 : static_cast<int>(pending.seen.size()) - pending.count;
}

}  // namespace petrel::server

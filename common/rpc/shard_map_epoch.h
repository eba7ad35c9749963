// The errors a new shard map may cure, and how a client recognises them: by
// the reason attached to the status (common/error_reason.h), which crosses
// gRPC with it, not by the words of the message. The message keeps saying
// what happened, for people. The client then fetches the map again and
// retries (worker/rerouting_ps_client.h).
#ifndef PETREL_COMMON_RPC_SHARD_MAP_EPOCH_H_
#define PETREL_COMMON_RPC_SHARD_MAP_EPOCH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/error_reason.h"

namespace petrel {

inline constexpr char kRefreshShardMap[] = "refresh the shard map";

// FAILED_PRECONDITION, reason STALE_SHARD_MAP: the request was made under
// an older map than the server's, or asks for what the server does not hold
// under its map. The message ends in kRefreshShardMap.
inline absl::Status StaleShardMapError(const std::string& what) {
  return WithErrorReason(absl::FailedPreconditionError(absl::StrCat(what, "; ", kRefreshShardMap)),
                         ErrorInfo::STALE_SHARD_MAP);
}

// NOT_FOUND, reason NOT_HELD: the server holds no shards of the group (an
// unknown job, or one whose placement has not reached the server yet).
inline absl::Status NotHeldError(const std::string& what) {
  return WithErrorReason(absl::NotFoundError(what), ErrorInfo::NOT_HELD);
}

inline bool IsStaleShardMap(const absl::Status& status) {
  return absl::IsFailedPrecondition(status) &&
         ErrorReason(status) == ErrorInfo::STALE_SHARD_MAP;
}

inline bool IsNotHeld(const absl::Status& status) {
  return absl::IsNotFound(status) && ErrorReason(status) == ErrorInfo::NOT_HELD;
}

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_SHARD_MAP_EPOCH_H_

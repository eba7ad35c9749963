// The error a server gives a request made under an out-of-date shard map,
// and how a client recognises it: FAILED_PRECONDITION whose message ends in
// kRefreshShardMap. The client then fetches the map again and retries.
#ifndef PETREL_COMMON_SHARD_MAP_EPOCH_H_
#define PETREL_COMMON_SHARD_MAP_EPOCH_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace petrel {

inline constexpr char kRefreshShardMap[] = "refresh the shard map";

inline absl::Status StaleShardMapError(const std::string& what) {
  return absl::FailedPreconditionError(absl::StrCat(what, "; ", kRefreshShardMap));
}

inline bool IsStaleShardMap(const absl::Status& status) {
  return absl::IsFailedPrecondition(status) && absl::StrContains(status.message(), kRefreshShardMap);
}

}  // namespace petrel

#endif  // PETREL_COMMON_SHARD_MAP_EPOCH_H_

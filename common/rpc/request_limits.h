// Per-request limits of the parameter service, checked before any domain
// logic so that a request over one changes nothing and costs the server
// almost nothing (docs/security.md). The message-size limit is gRPC's
// (kMaxMessageBytes in rpc.h); these bound the work hidden inside a message.
#ifndef PETREL_COMMON_RPC_REQUEST_LIMITS_H_
#define PETREL_COMMON_RPC_REQUEST_LIMITS_H_

#include <cstdint>

#include "absl/status/status.h"
#include "common/wire/push_view.h"
#include "proto/parameter.pb.h"

namespace petrel {

// Dense plus sparse slices in one pull or push. A worker sends one slice per
// table piece in a chunk: a few, or a few dozen for a deep model.
inline constexpr int kMaxSlicesPerRequest = 4096;
// Sparse keys (8 bytes each) in one pull or push, over all its sparse slices.
inline constexpr int64_t kMaxKeysPerRequest = int64_t{1} << 20;
// Job, worker and table names (and state transfer ids).
inline constexpr int kMaxNameBytes = 1024;
// A shard group's whole state, as InstallReplica's chunks declare it: a
// serialized ReplicaState, which protobuf can parse only below 2 GiB.
inline constexpr int64_t kMaxReplicaStateBytes = (int64_t{1} << 31) - 1;

// OK, or RESOURCE_EXHAUSTED naming the limit the request exceeds.
absl::Status CheckRequestLimits(const PullRequest& request);
absl::Status CheckRequestLimits(const PushRequest& request);
// A push as the raw path decoded it: its keys are counted from the views.
absl::Status CheckRequestLimits(const PushView& push);
absl::Status CheckRequestLimits(const InstallReplicaRequest& request);

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_REQUEST_LIMITS_H_

// The one place where absl::Status and grpc::Status meet. Domain code speaks
// absl::Status; gRPC adapters and clients convert at the edge. A reason
// attached to an absl::Status (common/error_reason.h) travels in
// grpc::Status's error_details as a serialized petrel.ErrorInfo and comes
// back as the same payload, so the client sees the server's reason.
#ifndef PETREL_COMMON_RPC_GRPC_STATUS_H_
#define PETREL_COMMON_RPC_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace petrel {

grpc::Status ToGrpcStatus(const absl::Status& status);

// The outcome of an outbound call. `context` names the call and the peer,
// e.g. "Push to server-1 (127.0.0.1:4100)", and is prefixed to the message so
// a failure says where it happened. CANCELLED comes back as UNAVAILABLE (the
// callee shut down; see the .cc).
absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& context = "");

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_GRPC_STATUS_H_

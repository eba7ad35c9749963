// Typed reasons on absl::Status: a petrel.ErrorInfo (proto/error_info.proto)
// carried as the status's payload, so a client decides what to do from the
// reason, never from the words of the message. The message stays for people.
// common/grpc_status.h carries the payload across gRPC; nothing here knows
// gRPC, so domain code can set a reason.
#ifndef PETREL_COMMON_RPC_ERROR_REASON_H_
#define PETREL_COMMON_RPC_ERROR_REASON_H_

#include "absl/status/status.h"
#include "proto/error_info.pb.h"

namespace petrel {

// The payload's key; its value is a serialized ErrorInfo.
inline constexpr char kErrorInfoTypeUrl[] = "type.googleapis.com/petrel.ErrorInfo";

// `status` (not OK) with `reason` attached; code and message unchanged.
absl::Status WithErrorReason(absl::Status status, ErrorInfo::Reason reason);

// The reason attached to `status`; REASON_UNSPECIFIED when none is (or the
// payload does not parse).
ErrorInfo::Reason ErrorReason(const absl::Status& status);

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_ERROR_REASON_H_

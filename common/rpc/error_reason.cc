#include "common/rpc/error_reason.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/types/optional.h"

namespace petrel {

absl::Status WithErrorReason(absl::Status status, ErrorInfo::Reason reason) {
  if (status.ok()) return status;  // an OK status carries no payload
  ErrorInfo info;
  info.set_reason(reason);
  status.SetPayload(kErrorInfoTypeUrl, absl::Cord(info.SerializeAsString()));
  return status;
}

ErrorInfo::Reason ErrorReason(const absl::Status& status) {
  const absl::optional<absl::Cord> payload = status.GetPayload(kErrorInfoTypeUrl);
  ErrorInfo info;
  if (!payload.has_value() || !info.ParseFromString(std::string(*payload))) {
    return ErrorInfo::REASON_UNSPECIFIED;
  }
  return info.reason();
}

}  // namespace petrel

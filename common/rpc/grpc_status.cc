#include "common/rpc/grpc_status.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/types/optional.h"
#include "common/rpc/error_reason.h"
#include "proto/error_info.pb.h"

namespace petrel {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // Canonical codes share their numbering between gRPC and Abseil.
  const auto code = static_cast<grpc::StatusCode>(status.code());
  std::string message(status.message());
  const absl::optional<absl::Cord> info = status.GetPayload(kErrorInfoTypeUrl);
  if (!info.has_value()) return grpc::Status(code, std::move(message));
  return grpc::Status(code, std::move(message), std::string(*info));
}

absl::Status FromGrpcStatus(const grpc::Status& status, const std::string& context) {
  if (status.ok()) return absl::OkStatus();
  std::string message = context.empty() ? status.error_message()
                                        : absl::StrCat(context, ": ", status.error_message());
  if (status.error_code() == grpc::StatusCode::CANCELLED) {
    // Petrel never cancels its own calls, so the callee did: a gRPC server
    // that shuts down fails the calls it had received but not yet handed to
    // a handler with CANCELLED (grpc/grpc#41785). The callee is going away;
    // the caller may retry, as after a dropped connection, and must not take
    // it for its own stop.
    return absl::UnavailableError(
        absl::StrCat(message, " (cancelled by the callee, which is shutting down)"));
  }
  absl::Status converted(static_cast<absl::StatusCode>(status.error_code()), message);
  // Only details that are an ErrorInfo become the payload: a peer that is
  // not Petrel may put something else there.
  ErrorInfo info;
  if (!status.error_details().empty() && info.ParseFromString(status.error_details())) {
    converted = WithErrorReason(std::move(converted), info.reason());
  }
  return converted;
}

}  // namespace petrel

// Statuses cross the gRPC edge with their code and message, except that a
// call the callee cancelled (it was shutting down) may be retried.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include "common/grpc_status.h"

namespace petrel {
namespace {

TEST_CASE("codes and messages cross both ways; the context prefixes the message") {
  const absl::Status refused = absl::FailedPreconditionError("refresh the shard map");
  const grpc::Status wire = ToGrpcStatus(refused);
  CHECK(wire.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(FromGrpcStatus(wire) == refused);
  const absl::Status named = FromGrpcStatus(wire, "Push to server-1 (127.0.0.1:4100)");
  CHECK(named.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(named.message() == "Push to server-1 (127.0.0.1:4100): refresh the shard map");
  CHECK(FromGrpcStatus(grpc::Status::OK).ok());
}

TEST_CASE("a call the callee cancelled is UNAVAILABLE, so that callers retry it") {
  const absl::Status status =
      FromGrpcStatus(grpc::Status(grpc::StatusCode::CANCELLED, "CANCELLED"), "Push to server-0");
  CHECK(status.code() == absl::StatusCode::kUnavailable);
  CHECK(status.message() ==
        "Push to server-0: CANCELLED (cancelled by the callee, which is shutting down)");
}

}  // namespace
}  // namespace petrel

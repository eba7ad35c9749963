// Statuses cross the gRPC edge with their code, message and reason (a
// reason attached on the server comes back through a real gRPC call), except
// that a call the callee cancelled (it was shutting down) may be retried.
#define CATCH_CONFIG_MAIN
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "catch2/catch.hpp"
#include "common/rpc/error_reason.h"
#include "common/rpc/grpc_status.h"
#include "common/rpc/shard_map_epoch.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server.h"
#include "grpcpp/server_builder.h"
#include "proto/parameter.grpc.pb.h"

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

// Answers every CloseRound with the status it was given.
class RefusingService final : public Parameter::CallbackService {
 public:
  explicit RefusingService(absl::Status answer) : answer_(std::move(answer)) {}

  grpc::ServerUnaryReactor* CloseRound(grpc::CallbackServerContext* context,
                                       const CloseRoundRequest*, CloseRoundResponse*) override {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(ToGrpcStatus(answer_));
    return reactor;
  }

 private:
  const absl::Status answer_;
};

// Starts a server answering `answer` on a port of its choosing, makes one
// CloseRound call and converts what came back.
absl::Status CallThrough(const absl::Status& answer) {
  RefusingService service(answer);
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  REQUIRE(server != nullptr);
  REQUIRE(port > 0);
  auto stub = Parameter::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext context;
  CloseRoundRequest request;
  CloseRoundResponse response;
  const grpc::Status status = stub->CloseRound(&context, request, &response);
  server->Shutdown();
  return FromGrpcStatus(status, "CloseRound to server-0");
}

TEST_CASE("NOT_HELD crosses a gRPC call as a reason, with the server's message") {
  const absl::Status got = CallThrough(NotHeldError("group 3 of job j is not held by server-0"));
  CHECK(got.code() == absl::StatusCode::kNotFound);
  CHECK(got.message() == "CloseRound to server-0: group 3 of job j is not held by server-0");
  CHECK(ErrorReason(got) == ErrorInfo::NOT_HELD);
  CHECK(IsNotHeld(got));
  CHECK_FALSE(IsStaleShardMap(got));
}

TEST_CASE("STALE_SHARD_MAP crosses a gRPC call as a reason") {
  const absl::Status got = CallThrough(StaleShardMapError("epoch 2 is older than 3"));
  CHECK(got.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(got.message() == "CloseRound to server-0: epoch 2 is older than 3; refresh the shard map");
  CHECK(ErrorReason(got) == ErrorInfo::STALE_SHARD_MAP);
  CHECK(IsStaleShardMap(got));
  CHECK_FALSE(IsNotHeld(got));
}

TEST_CASE("an error without a reason arrives without one, whatever its words") {
  const absl::Status got = CallThrough(absl::NotFoundError("group 3 is not held by server-0"));
  CHECK(got.code() == absl::StatusCode::kNotFound);
  CHECK(ErrorReason(got) == ErrorInfo::REASON_UNSPECIFIED);
  CHECK_FALSE(IsNotHeld(got));
}

TEST_CASE("the conversion keeps code, message and reason without a network") {
  const absl::Status original = NotHeldError("nothing here");
  const grpc::Status wire = ToGrpcStatus(original);
  CHECK(wire.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(wire.error_message() == "nothing here");
  ErrorInfo info;
  REQUIRE(info.ParseFromString(wire.error_details()));
  CHECK(info.reason() == ErrorInfo::NOT_HELD);
  CHECK(FromGrpcStatus(wire) == original);
  CHECK(ToGrpcStatus(absl::OkStatus()).ok());
  CHECK(FromGrpcStatus(grpc::Status::OK).ok());
  // A reason is never attached to OK.
  CHECK(WithErrorReason(absl::OkStatus(), ErrorInfo::NOT_HELD).ok());
}

}  // namespace
}  // namespace petrel

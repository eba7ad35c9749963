// RoundCloser over gRPC: one Parameter.CloseRound call per server.
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc/channel_factory.h"
#include "common/rpc/grpc_status.h"
#include "coordinator/round_closer.h"
#include "proto/parameter.grpc.pb.h"

namespace petrel::coordinator {
namespace {

// A server applies a round in milliseconds; this leaves room for a busy one.
constexpr absl::Duration kCloseTimeout = absl::Seconds(30);

class GrpcRoundCloser : public RoundCloser {
 public:
  explicit GrpcRoundCloser(ChannelFactory& channels) : channels_(channels) {}

  absl::Status CloseRound(const std::string& server_id, const std::string& address,
                          const CloseRoundRequest& close) override {
    auto stub = Parameter::NewStub(channels_.Channel(address));
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + kCloseTimeout));
    CloseRoundResponse response;
    return FromGrpcStatus(stub->CloseRound(&context, close, &response),
                          absl::StrCat("CloseRound of round ", close.round(), " on ", server_id));
  }

 private:
  ChannelFactory& channels_;
};

}  // namespace

std::unique_ptr<RoundCloser> NewGrpcRoundCloser(ChannelFactory& channels) {
  return std::make_unique<GrpcRoundCloser>(channels);
}

}  // namespace petrel::coordinator

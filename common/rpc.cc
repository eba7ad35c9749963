#include "common/rpc.h"

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/channel_arguments.h"

namespace petrel {
namespace {

// HTTP/2 settings for bulk tensors on a LAN: big frames (fewer headers and
// wakeups per megabyte), a stream window that lets a whole chunk be in flight
// without waiting for WINDOW_UPDATEs, and large socket reads.
template <typename Setter>
void TuneTransport(Setter set) {
  set(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, (1 << 24) - 1);
  set(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 20);
  set(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, 64 << 20);
  set(GRPC_ARG_TCP_READ_CHUNK_SIZE, 4 << 20);
  set(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, 1 << 20);
  set(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 16 << 20);
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Each target gets its own connection: sharing one subchannel between the
  // channels of several shards would serialise their traffic.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  TuneTransport([&args](const char* name, int value) { args.SetInt(name, value); });
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

absl::StatusOr<StartedGrpcServer> StartGrpcServer(const std::string& host, int port,
                                                   const std::vector<grpc::Service*>& services) {
  StartedGrpcServer started;
  // The standard grpc.health.v1 service, for probes (grpc_health_probe,
  // Kubernetes): SERVING while the daemon runs.
  grpc::EnableDefaultHealthCheckService(true);
  // Server reflection, so grpcurl and other generic clients can list and
  // call the services without Petrel's .proto files.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(absl::StrCat(host, ":", port), grpc::InsecureServerCredentials(),
                           &started.port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  TuneTransport(
      [&builder](const char* name, int value) { builder.AddChannelArgument(name, value); });
  for (grpc::Service* service : services) builder.RegisterService(service);
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || started.port == 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot bind the gRPC port ", host, ":", port, " (is it already in use?)"));
  }
  return started;
}

}  // namespace petrel

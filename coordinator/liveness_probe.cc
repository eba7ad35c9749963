#include "coordinator/liveness_probe.h"

#include "absl/synchronization/notification.h"
#include "common/rpc/channel_factory.h"
#include "grpcpp/generic/generic_stub.h"
#include "httplib.h"

namespace petrel::coordinator {
namespace {

bool ServerAnswersOn(ChannelFactory& channels, const std::string& grpc_address,
                     absl::Duration deadline) {
  grpc::GenericStub stub(channels.Channel(grpc_address));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  grpc::Slice empty;  // an empty HealthCheckRequest: the server as a whole
  grpc::ByteBuffer request(&empty, 1), response;
  absl::Notification done;
  grpc::Status status;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request,
                 &response, [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  return status.error_code() != grpc::StatusCode::UNAVAILABLE &&
         status.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED;
}

template <typename Client>
bool HealthzAnswers(Client& client, absl::Duration deadline) {
  const auto micros = absl::ToInt64Microseconds(deadline);
  client.set_connection_timeout(micros / 1000000, micros % 1000000);
  client.set_read_timeout(micros / 1000000, micros % 1000000);
  auto result = client.Get("/healthz");
  return result && result->status == 200;
}

bool WorkerHealthzAnswers(const std::string& http_address, absl::Duration deadline) {
  const size_t colon = http_address.rfind(':');
  if (colon == std::string::npos) return false;
  const std::string host = http_address.substr(0, colon);
  const int port = std::stoi(http_address.substr(colon + 1));
  // /healthz needs no token. A worker's endpoints are HTTPS when they bind
  // beyond loopback under TLS (HttpSecurityFor): try plain HTTP, then TLS.
  // The probe sends no secret and only asks whether the process answers,
  // so it does not check the certificate.
  httplib::Client plain(host, port);
  if (HealthzAnswers(plain, deadline / 2)) return true;
  httplib::SSLClient tls(host, port);
  tls.enable_server_certificate_verification(false);
  return HealthzAnswers(tls, deadline / 2);
}

class NetworkLivenessProbe : public LivenessProbe {
 public:
  explicit NetworkLivenessProbe(ChannelFactory& channels) : channels_(channels) {}

  bool ServerAnswers(const std::string& grpc_address, absl::Duration deadline) override {
    return ServerAnswersOn(channels_, grpc_address, deadline);
  }
  bool WorkerAnswers(const std::string& http_address, absl::Duration deadline) override {
    return WorkerHealthzAnswers(http_address, deadline);
  }

 private:
  ChannelFactory& channels_;
};

}  // namespace

std::unique_ptr<LivenessProbe> NewNetworkLivenessProbe(ChannelFactory& channels) {
  return std::make_unique<NetworkLivenessProbe>(channels);
}

}  // namespace petrel::coordinator

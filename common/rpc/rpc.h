// Channel and server set-up shared by every daemon and client, so that
// message limits and transport security are decided in one place.
#ifndef PETREL_COMMON_RPC_RPC_H_
#define PETREL_COMMON_RPC_RPC_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc/channel_factory.h"
#include "common/daemon/http_status_server.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"
#include "grpcpp/impl/codegen/service_type.h"

struct grpc_ssl_session_cache;
namespace spdlog {
class logger;
}  // namespace spdlog

namespace petrel {

// Largest message a Petrel endpoint sends or accepts.
inline constexpr int kMaxMessageBytes = 64 << 20;
// Streams (calls in flight) one client connection may hold open on a server.
// A worker keeps a few per server (two chunks each way, a parked pull).
inline constexpr int kMaxConcurrentStreamsPerClient = 256;

// How a daemon's (or client's) gRPC traffic is protected (docs/security.md):
// what its Options carry, filled by main() from --tls_dir, --mtls and
// --token_file (or $PETREL_CLUSTER_TOKEN, read in main).
//
// On a Unix-domain socket ("unix:PATH" addresses, what `petrel local` uses)
// there is no TLS: nothing leaves the machine, and the socket's directory
// (0700) lets only this user connect. The cluster token, when there is one,
// is still sent and checked on every call there.
//
// On TCP, a
// --tls_dir holds ca.pem (the CA every peer must be signed by) and the
// process's certificate and key: ROLE.pem and ROLE-key.pem (what `petrel
// certs init` writes), else cert.pem and key.pem. Servers (coordinator,
// server) need theirs; clients need one only when the servers ask (--mtls).
// Default: plaintext, no token.
struct TransportSecurity {
  std::string role = "client";  // coordinator, server, worker or client
  std::string tls_dir;          // empty: plaintext, unauthenticated
  bool mutual_tls = false;      // servers require a client certificate of the CA
  std::string token;            // the cluster token every call carries; empty: none
};

// Where `role`'s files are in `tls_dir`.
std::string TlsCaPath(const std::string& tls_dir);
std::string TlsCertPath(const std::string& tls_dir, const std::string& role);
std::string TlsKeyPath(const std::string& tls_dir, const std::string& role);

// A TransportSecurity with its files read and checked: what one daemon (or
// client) secures its channels and servers with. A value, passed to what
// needs it, never process-wide, so daemons with different settings can live
// in one process. Default-constructed: plaintext, no token (what in-process
// test clusters use).
//
// A token without TLS is accepted, but only ever travels over Unix sockets:
// a TCP port cannot be bound with it (StartGrpcServer), and CheckReachable
// refuses a TCP peer.
class LoadedTransportSecurity {
 public:
  LoadedTransportSecurity() = default;

  // Reads the files now; a missing or unreadable one, or a key that is not
  // the certificate's, is an error naming it. --mtls without --tls_dir too.
  static absl::StatusOr<LoadedTransportSecurity> Load(const TransportSecurity& security);

  bool tls() const { return tls_; }
  bool mutual_tls() const { return mutual_tls_; }
  const std::string& ca_pem() const { return ca_pem_; }
  // Empty when this role has no certificate (clients only).
  const std::string& cert_pem() const { return cert_pem_; }
  const std::string& key_pem() const { return key_pem_; }
  const std::string& token() const { return token_; }

 private:
  bool tls_ = false;
  bool mutual_tls_ = false;
  std::string ca_pem_, cert_pem_, key_pem_;
  std::string token_;
};

// Whether `address` names a Unix-domain socket ("unix:PATH").
bool IsUnixSocketAddress(const std::string& address);

// Whether a process secured as `security` can call `address`: a TCP peer
// with a cluster token and no TLS is refused, since the token would cross
// the network in the clear. Call it on addresses a user gives (--coordinator).
absl::Status CheckReachable(const LoadedTransportSecurity& security, const std::string& address);

// Where a daemon's or client's outbound channels come from, secured as the
// security it owns. It keeps one TLS session cache for all its channels, so
// a reconnect to a daemon it already spoke with skips the full handshake.
class SecuredChannelFactory : public ChannelFactory {
 public:
  explicit SecuredChannelFactory(LoadedTransportSecurity security = {});

  // Loads `security` (LoadedTransportSecurity::Load). With `log`, says how
  // gRPC is secured when a daemon uses TLS (never the token).
  static absl::StatusOr<std::shared_ptr<SecuredChannelFactory>> Create(
      const TransportSecurity& security, spdlog::logger* log = nullptr);

  // A channel to `address` (host:port, or unix:PATH). It never sends the
  // token over plaintext TCP.
  std::shared_ptr<grpc::Channel> Channel(const std::string& address) override;
  absl::Status CheckReachable(const std::string& address) const override;

  const LoadedTransportSecurity& security() const { return security_; }

 private:
  const LoadedTransportSecurity security_;
  // TLS sessions of this factory's channels; null without TLS. Channels
  // hold references of their own.
  const std::shared_ptr<grpc_ssl_session_cache> sessions_;
};

struct StartedGrpcServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// Binds host:port (0: the OS picks), or the Unix-domain socket PATH when
// `host` is "unix:PATH" (port is then ignored and reported as 0), secured as
// `security`, and starts serving `services`. A port that cannot be bound is
// an error naming it; so is a socket whose directory other users can open,
// and a TCP port with a cluster token but no TLS. `log` (null: spdlog's
// default logger) gets the warning that a TCP port is plaintext.
absl::StatusOr<StartedGrpcServer> StartGrpcServer(const LoadedTransportSecurity& security,
                                                   const std::string& host, int port,
                                                   const std::vector<grpc::Service*>& services,
                                                   spdlog::logger* log = nullptr);

// 127.0.0.0/8, ::1 or localhost: only this machine's processes reach it.
bool IsLoopbackHost(const std::string& host);

// How a daemon secured as `security` protects its HTTP status endpoints,
// bound on `http_host` (docs/security.md, "HTTP endpoints"):
// - on a loopback host: plain HTTP, open, as the machine's users can read
//   the daemons' files anyway;
// - beyond loopback under TLS: HTTPS with the daemon's own certificate,
//   and with a cluster token, the token on every page but /healthz;
// - beyond loopback without TLS (or with no certificate for the role):
//   plain and open, and `log` (null: the default logger) warns saying so.
HttpSecurity HttpSecurityFor(const LoadedTransportSecurity& security, const std::string& http_host,
                             spdlog::logger* log = nullptr);
// The URL of `path` on another daemon's status endpoints at `http_address`
// (host:port), with the scheme HttpSecurityFor gives them in a cluster
// secured as `security`.
std::string StatusUrl(const LoadedTransportSecurity& security, const std::string& http_address,
                      const std::string& path);

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_RPC_H_

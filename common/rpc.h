// Channel and server set-up shared by every daemon and client, so that
// message limits and transport security are decided in one place.
#ifndef PETREL_COMMON_RPC_H_
#define PETREL_COMMON_RPC_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/http_status_server.h"
#include "grpcpp/channel.h"
#include "grpcpp/server.h"
#include "grpcpp/impl/codegen/service_type.h"

namespace petrel {

// Largest message a Petrel endpoint sends or accepts.
inline constexpr int kMaxMessageBytes = 64 << 20;
// Streams (calls in flight) one client connection may hold open on a server.
// A worker keeps a few per server (two chunks each way, a parked pull).
inline constexpr int kMaxConcurrentStreamsPerClient = 256;

// How this process's gRPC traffic is protected (docs/security.md).
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

// Decides, for the rest of the process, how MakeChannel and StartGrpcServer
// secure what they create: call it once in main(), before either. Reads the
// files now; a missing or unreadable one is an error naming it. A token
// without TLS is accepted, but only ever travels over Unix sockets: a TCP
// port cannot be bound with it (StartGrpcServer), and CheckReachable refuses
// a TCP peer. Tests that run clusters in one process leave it unset.
absl::Status SetTransportSecurity(const TransportSecurity& security);

// main()'s --tls_dir, --mtls and --token_file (or $PETREL_CLUSTER_TOKEN)
// turned into SetTransportSecurity. Daemons log what it chose, never the token.
absl::Status SecureThisProcess(const std::string& role, const std::string& tls_dir,
                               bool mutual_tls, const std::string& token_file);

// Whether `address` names a Unix-domain socket ("unix:PATH").
bool IsUnixSocketAddress(const std::string& address);

// Whether this process can call `address` as it is secured: a TCP peer with
// a cluster token and no TLS is refused, since the token would cross the
// network in the clear. Call it on addresses a user gives (--coordinator).
absl::Status CheckReachable(const std::string& address);

// A channel to `address` (host:port, or unix:PATH), secured as
// SetTransportSecurity decided. It never sends the token over plaintext TCP.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

struct StartedGrpcServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;
};

// Binds host:port (0: the OS picks), or the Unix-domain socket PATH when
// `host` is "unix:PATH" (port is then ignored and reported as 0), and starts
// serving `services`. A port that cannot be bound is an error naming it; so
// is a socket whose directory other users can open, and a TCP port with a
// cluster token but no TLS.
absl::StatusOr<StartedGrpcServer> StartGrpcServer(const std::string& host, int port,
                                                   const std::vector<grpc::Service*>& services);

// 127.0.0.0/8, ::1 or localhost: only this machine's processes reach it.
bool IsLoopbackHost(const std::string& host);

// How this process's HTTP status endpoints, bound on `http_host`, are
// protected (docs/security.md, "HTTP endpoints"):
// - on a loopback host: plain HTTP, open, as the machine's users can read
//   the daemons' files anyway;
// - beyond loopback under TLS: HTTPS with the process's own certificate,
//   and with a cluster token, the token on every page but /healthz;
// - beyond loopback without TLS (or with no certificate for the role):
//   plain and open, and the daemon logs a warning saying so.
HttpSecurity HttpSecurityFor(const std::string& http_host);
// The URL of `path` on another daemon's status endpoints at `http_address`
// (host:port), with the scheme HttpSecurityFor gives them in a cluster
// secured like this process.
std::string StatusUrl(const std::string& http_address, const std::string& path);

}  // namespace petrel

#endif  // PETREL_COMMON_RPC_H_

// Where a daemon listens and how it reaches the coordinator; shared by the
// server and worker daemons (the coordinator uses the listening part).
#ifndef PETREL_COMMON_DAEMON_DAEMON_OPTIONS_H_
#define PETREL_COMMON_DAEMON_DAEMON_OPTIONS_H_

#include <string>

#include "absl/time/time.h"

namespace petrel {

struct ListenOptions {
  std::string host = "127.0.0.1";  // gRPC bind address ("0.0.0.0" for a real cluster)
  int port = 0;                    // 0: the OS picks
  std::string http_host = "127.0.0.1";
  int http_port = 0;
  // The host others dial. Defaults to `host`; when `host` is a wildcard, to
  // the address of this machine's interface that reaches the coordinator
  // (the one the others can surely route to), else this machine's name.
  std::string advertise_host;
  // Non-empty: gRPC is served on this Unix-domain socket, not host:port
  // (--grpc_socket; what `petrel local` uses), and advertised as unix:PATH.
  std::string grpc_socket;
};

// What StartGrpcServer binds for `listen`: "unix:PATH" or the host.
std::string GrpcBindHost(const ListenOptions& listen);

// host:port (or unix:PATH) others use to reach a daemon listening per
// `listen` on `port`.
// `coordinator` (host:port; empty for the coordinator itself) picks the
// interface when `listen` binds a wildcard and advertises nothing.
std::string AdvertisedAddress(const ListenOptions& listen, int port,
                              const std::string& coordinator = "");

// host:port others use for the HTTP endpoints: `listen.http_host`, or when
// that is a wildcard, the host AdvertisedAddress would give.
std::string AdvertisedHttpAddress(const ListenOptions& listen, int http_port,
                                  const std::string& coordinator = "");

// The local address of the interface this machine would use to reach
// `host_port` (no packet is sent), or "" if it cannot tell.
std::string LocalAddressTowards(const std::string& host_port);

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_DAEMON_OPTIONS_H_

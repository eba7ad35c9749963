// The command-line flags every daemon shares for transport security and
// where it listens (--tls_dir, --mtls, --token_file, --grpc_socket,
// --http_bind), defined
// once here so that petrel-coordinator, petrel-server and petrel-worker
// accept and document them the same way (docs/security.md).
#ifndef PETREL_COMMON_DAEMON_SECURITY_FLAGS_H_
#define PETREL_COMMON_DAEMON_SECURITY_FLAGS_H_

#include <string>

#include "absl/status/status.h"
#include "common/daemon_options.h"

namespace petrel {

// Applies --tls_dir, --mtls and --token_file to this process's channels and
// servers (common/rpc.h SecureThisProcess) as `role`, and checks that the
// coordinator (host:port or unix:PATH; empty for the coordinator itself) can
// be reached so secured (CheckReachable).
absl::Status SecureDaemonFromFlags(const std::string& role, const std::string& coordinator = "");

// --http_bind, when given, overrides the HTTP host of `listen`; --grpc_socket
// sets its gRPC socket.
void ApplySharedListenFlags(ListenOptions* listen);

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_SECURITY_FLAGS_H_

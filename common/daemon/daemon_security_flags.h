// The command-line flags the three daemon main()s share for transport
// security and where they listen (--tls_dir, --mtls, --token_file,
// --grpc_socket, --http_bind), turned into the daemons' Options.
//
// Why a library and not three copies in the main.cc files: the three
// binaries must accept and document these five flags exactly alike
// (docs/security.md, `petrel local` passes the same ones to all three), and
// one definition keeps them so. Only the main()s of petrel-coordinator,
// petrel-server and petrel-worker may depend on it (see common/BUILD): no
// library reads a flag.
#ifndef PETREL_COMMON_DAEMON_DAEMON_SECURITY_FLAGS_H_
#define PETREL_COMMON_DAEMON_DAEMON_SECURITY_FLAGS_H_

#include <string>

#include "absl/status/statusor.h"
#include "common/daemon/daemon_options.h"
#include "common/rpc/rpc.h"

namespace petrel {

// --tls_dir, --mtls and the token of --token_file, else `environment_token`
// (what main() read from $PETREL_CLUSTER_TOKEN), as `role`. A token file
// that cannot be read, or a token that is too short, is an error.
absl::StatusOr<TransportSecurity> TransportSecurityFromFlags(const std::string& role,
                                                             const std::string& environment_token);

// TransportSecurityFromFlags, with its files loaded once here to name a bad
// one at start-up, and a check that the coordinator (host:port or
// unix:PATH; empty for the coordinator itself) can be reached so secured.
// The daemon loads the returned value again at Start and owns the result.
absl::StatusOr<TransportSecurity> SecureDaemonFromFlags(const std::string& role,
                                                        const std::string& environment_token,
                                                        const std::string& coordinator = "");

// --http_bind, when given, overrides the HTTP host of `listen`; --grpc_socket
// sets its gRPC socket.
void ApplySharedListenFlags(ListenOptions* listen);

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_DAEMON_SECURITY_FLAGS_H_

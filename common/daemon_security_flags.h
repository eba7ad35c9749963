// The command-line flags every daemon shares for transport security and the
// HTTP bind address (--tls_dir, --mtls, --token_file, --http_bind), defined
// once here so that petrel-coordinator, petrel-server and petrel-worker
// accept and document them the same way (docs/security.md).
#ifndef PETREL_COMMON_DAEMON_SECURITY_FLAGS_H_
#define PETREL_COMMON_DAEMON_SECURITY_FLAGS_H_

#include <string>

#include "absl/status/status.h"
#include "common/daemon_options.h"

namespace petrel {

// Applies --tls_dir, --mtls and --token_file to this process's channels and
// servers (common/rpc.h SecureThisProcess) as `role`.
absl::Status SecureDaemonFromFlags(const std::string& role);

// --http_bind, when given, overrides the HTTP host of `listen`.
void ApplyHttpBindFlag(ListenOptions* listen);

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_SECURITY_FLAGS_H_

#include "common/daemon/daemon_security_flags.h"

#include "absl/flags/flag.h"
#include "common/rpc/auth.h"
#include "common/status_macros.h"

ABSL_FLAG(std::string, tls_dir, "",
          "TLS for gRPC: directory with ca.pem and ROLE.pem/ROLE-key.pem (petrel certs init)");
ABSL_FLAG(bool, mtls, false,
          "require client certificates signed by the --tls_dir CA (workers serve no gRPC and "
          "ignore it)");
ABSL_FLAG(std::string, token_file, "",
          "file holding the cluster token (default: $PETREL_CLUSTER_TOKEN); needs --tls_dir");
ABSL_FLAG(std::string, grpc_socket, "",
          "serve gRPC on this Unix-domain socket instead of --host/--port; its directory must be "
          "yours and mode 0700 (petrel local uses it: no TLS, the token still checked)");
ABSL_FLAG(std::string, http_bind, "", "same as --http_host (the default keeps HTTP on 127.0.0.1)");

namespace petrel {

absl::StatusOr<TransportSecurity> TransportSecurityFromFlags(const std::string& role,
                                                             const std::string& environment_token) {
  TransportSecurity security;
  security.role = role;
  security.tls_dir = absl::GetFlag(FLAGS_tls_dir);
  security.mutual_tls = absl::GetFlag(FLAGS_mtls);
  PETREL_ASSIGN_OR_RETURN(security.token,
                          ReadClusterToken(absl::GetFlag(FLAGS_token_file), environment_token));
  return security;
}

absl::StatusOr<TransportSecurity> SecureDaemonFromFlags(const std::string& role,
                                                        const std::string& environment_token,
                                                        const std::string& coordinator) {
  PETREL_ASSIGN_OR_RETURN(TransportSecurity security,
                          TransportSecurityFromFlags(role, environment_token));
  // Loaded here only to name a bad file or an unsafe coordinator address
  // before anything starts; the daemon loads its own at Start.
  PETREL_ASSIGN_OR_RETURN(LoadedTransportSecurity loaded, LoadedTransportSecurity::Load(security));
  if (!coordinator.empty()) PETREL_RETURN_IF_ERROR(CheckReachable(loaded, coordinator));
  return security;
}

void ApplySharedListenFlags(ListenOptions* listen) {
  if (!absl::GetFlag(FLAGS_http_bind).empty()) listen->http_host = absl::GetFlag(FLAGS_http_bind);
  listen->grpc_socket = absl::GetFlag(FLAGS_grpc_socket);
}

}  // namespace petrel

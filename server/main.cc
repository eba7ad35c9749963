// petrel-server: holds shards of the tables of running jobs and applies the
// gradients workers push.

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/rpc/auth.h"
#include "common/daemon/daemon_main.h"
#include "common/daemon/daemon_security_flags.h"
#include "common/daemon/daemon_util.h"
#include "common/rpc/rpc.h"
#include "server/server_daemon.h"

ABSL_FLAG(std::string, coordinator, "127.0.0.1:7070", "host:port of the coordinator (unix:PATH for a local cluster's socket)");
ABSL_FLAG(std::string, host, "127.0.0.1", "address to bind gRPC on (0.0.0.0 for all)");
ABSL_FLAG(int, port, 0, "gRPC port (0: any free port)");
ABSL_FLAG(std::string, http_host, "127.0.0.1", "address to bind the HTTP status endpoints on");
ABSL_FLAG(int, http_port, 0, "HTTP status port (0: any free port)");
ABSL_FLAG(std::string, advertise_host, "", "host name others dial (default: --host)");
ABSL_FLAG(std::string, port_file, "", "write the chosen ports here as JSON");
ABSL_FLAG(double, register_timeout_seconds, 30, "give up if the coordinator is unreachable this long");

int main(int argc, char** argv) {
  petrel::BlockShutdownSignals();
  absl::SetProgramUsageMessage("petrel-server --coordinator HOST:PORT [--port N] [--http_port N]");
  absl::ParseCommandLine(argc, argv);
  petrel::InitLogging("server");
  // The only read of the environment: libraries are handed the token.
  const char* environment_token = std::getenv(petrel::kClusterTokenEnv);
  absl::StatusOr<petrel::TransportSecurity> security =
      petrel::SecureDaemonFromFlags("server", environment_token != nullptr ? environment_token : "", absl::GetFlag(FLAGS_coordinator));
  if (!security.ok()) {
    spdlog::error("petrel-server: {}", std::string(security.status().message()));
    return 1;
  }
  petrel::KeepFreedMemoryForReuse();

  petrel::server::ServerDaemon::Options options;
  options.coordinator_address = absl::GetFlag(FLAGS_coordinator);
  options.listen.host = absl::GetFlag(FLAGS_host);
  options.listen.port = absl::GetFlag(FLAGS_port);
  options.listen.http_host = absl::GetFlag(FLAGS_http_host);
  petrel::ApplySharedListenFlags(&options.listen);
  options.security = *security;
  options.listen.http_port = absl::GetFlag(FLAGS_http_port);
  options.listen.advertise_host = absl::GetFlag(FLAGS_advertise_host);
  options.register_timeout = absl::Seconds(absl::GetFlag(FLAGS_register_timeout_seconds));

  return petrel::ServeUntilSignal(petrel::server::ServerDaemon::Start(options), "petrel-server", "server",
                                  options.listen.http_host, absl::GetFlag(FLAGS_port_file));
}

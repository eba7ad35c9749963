// petrel-coordinator: membership, jobs and placement for one cluster.
#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/rpc/auth.h"
#include "common/daemon/daemon_main.h"
#include "common/daemon/daemon_security_flags.h"
#include "common/daemon/daemon_util.h"
#include "common/rpc/rpc.h"
#include "coordinator/coordinator_daemon.h"

ABSL_FLAG(std::string, host, "127.0.0.1", "address to bind gRPC on (0.0.0.0 for all)");
ABSL_FLAG(int, port, 7070, "gRPC port (0: any free port)");
ABSL_FLAG(std::string, http_host, "127.0.0.1", "address to bind the HTTP status endpoints on");
ABSL_FLAG(int, http_port, 0, "HTTP status port (0: any free port)");
ABSL_FLAG(std::string, port_file, "", "write the chosen ports here as JSON");
ABSL_FLAG(double, heartbeat_interval_seconds, 0.2, "how often nodes heartbeat");
ABSL_FLAG(double, heartbeat_timeout_seconds, 1,
          "a node silent this long is probed, and declared dead if the probe fails too");
ABSL_FLAG(std::string, state_dir, "",
          "keep jobs, placement and nodes here, and reload them after a restart "
          "(empty: in memory only)");
ABSL_FLAG(int, max_active_jobs, 64, "jobs queued or running at once; more are refused");

int main(int argc, char** argv) {
  petrel::BlockShutdownSignals();
  absl::SetProgramUsageMessage("petrel-coordinator [--port N] [--http_port N] [--port_file F]");
  absl::ParseCommandLine(argc, argv);
  petrel::InitLogging("coordinator");
  // The only read of the environment: libraries are handed the token.
  const char* environment_token = std::getenv(petrel::kClusterTokenEnv);
  absl::StatusOr<petrel::TransportSecurity> security =
      petrel::SecureDaemonFromFlags("coordinator", environment_token != nullptr ? environment_token : "");
  if (!security.ok()) {
    spdlog::error("petrel-coordinator: {}", std::string(security.status().message()));
    return 1;
  }

  petrel::coordinator::CoordinatorDaemon::Options options;
  options.listen.host = absl::GetFlag(FLAGS_host);
  options.listen.port = absl::GetFlag(FLAGS_port);
  options.listen.http_host = absl::GetFlag(FLAGS_http_host);
  petrel::ApplySharedListenFlags(&options.listen);
  options.security = *security;
  options.listen.http_port = absl::GetFlag(FLAGS_http_port);
  options.service.heartbeat_interval =
      absl::Seconds(absl::GetFlag(FLAGS_heartbeat_interval_seconds));
  options.service.max_active_jobs = absl::GetFlag(FLAGS_max_active_jobs);
  options.service.heartbeat_timeout =
      absl::Seconds(absl::GetFlag(FLAGS_heartbeat_timeout_seconds));
  options.service.state_dir = absl::GetFlag(FLAGS_state_dir);

  return petrel::ServeUntilSignal(petrel::coordinator::CoordinatorDaemon::Start(options), "petrel-coordinator", "coordinator",
                                  options.listen.http_host, absl::GetFlag(FLAGS_port_file));
}

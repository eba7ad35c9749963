// petrel-worker: trains its data shard of whatever job the coordinator
// assigns to it.
#include <cblas.h>

#include <cstdlib>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "common/rpc/auth.h"
#include "common/daemon/daemon_main.h"
#include "common/daemon/daemon_security_flags.h"
#include "common/daemon/daemon_util.h"
#include "common/rpc/rpc.h"
#include "worker/worker_daemon.h"

ABSL_FLAG(std::string, coordinator, "127.0.0.1:7070", "host:port of the coordinator (unix:PATH for a local cluster's socket)");
ABSL_FLAG(std::string, host, "127.0.0.1", "the name this worker gives for itself");
ABSL_FLAG(std::string, http_host, "127.0.0.1", "address to bind the HTTP status endpoints on");
ABSL_FLAG(int, http_port, 0, "HTTP status port (0: any free port)");
ABSL_FLAG(int, port, 0, "unused: workers serve no gRPC (accepted for uniform launch scripts)");
ABSL_FLAG(std::string, port_file, "", "write the chosen ports here as JSON");
ABSL_FLAG(std::string, device, "auto",
          "devices offered to jobs: auto (the CPU and every GPU), cpu (the CPU only) or cuda:N "
          "(GPU N only); a job's cluster.device picks among them (docs/gpu.md)");
ABSL_FLAG(int, compute_threads, 1,
          "CPU threads for the math (OpenBLAS); 1 suits several workers per machine");
ABSL_FLAG(double, register_timeout_seconds, 30, "give up if the coordinator is unreachable this long");

int main(int argc, char** argv) {
  petrel::BlockShutdownSignals();
  absl::SetProgramUsageMessage("petrel-worker --coordinator HOST:PORT [--device auto|cpu|cuda:N]");
  absl::ParseCommandLine(argc, argv);
  petrel::InitLogging("worker");
  // The only read of the environment: libraries are handed the token.
  const char* environment_token = std::getenv(petrel::kClusterTokenEnv);
  absl::StatusOr<petrel::TransportSecurity> security =
      petrel::SecureDaemonFromFlags("worker", environment_token != nullptr ? environment_token : "", absl::GetFlag(FLAGS_coordinator));
  if (!security.ok()) {
    spdlog::error("petrel-worker: {}", std::string(security.status().message()));
    return 1;
  }
  petrel::KeepFreedMemoryForReuse();
  openblas_set_num_threads(absl::GetFlag(FLAGS_compute_threads));

  petrel::worker::WorkerDaemon::Options options;
  options.coordinator_address = absl::GetFlag(FLAGS_coordinator);
  options.listen.host = absl::GetFlag(FLAGS_host);
  options.listen.http_host = absl::GetFlag(FLAGS_http_host);
  petrel::ApplySharedListenFlags(&options.listen);
  options.security = *security;
  options.listen.http_port = absl::GetFlag(FLAGS_http_port);
  options.device = absl::GetFlag(FLAGS_device);
  options.register_timeout = absl::Seconds(absl::GetFlag(FLAGS_register_timeout_seconds));

  return petrel::ServeUntilSignal(petrel::worker::WorkerDaemon::Start(options), "petrel-worker", "worker",
                                  options.listen.http_host, absl::GetFlag(FLAGS_port_file));
}

// The end of every daemon's main(): report a failed start, write the port
// file, serve until SIGTERM/SIGINT/SIGHUP, then shut down by destroying the
// daemon object.
#ifndef PETREL_COMMON_DAEMON_MAIN_H_
#define PETREL_COMMON_DAEMON_MAIN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/daemon_util.h"
#include "spdlog/spdlog.h"

namespace petrel {

// `Daemon` has ports() returning DaemonPorts. Returns main()'s exit code.
template <typename Daemon>
int ServeUntilSignal(absl::StatusOr<std::unique_ptr<Daemon>> daemon, const std::string& name,
                     const std::string& http_host, const std::string& port_file) {
  if (!daemon.ok()) {
    spdlog::error("{} failed to start: {}", name, daemon.status().ToString());
    return 1;
  }
  const DaemonPorts ports = (*daemon)->ports();
  if (!port_file.empty()) {
    absl::Status written = WritePortFile(port_file, ports);
    if (!written.ok()) {
      spdlog::error("{}", written.ToString());
      return 1;
    }
  }
  spdlog::info("{} ready: gRPC port {}, status on http://{}:{}/status", name, ports.grpc_port,
               http_host, ports.http_port);
  const int signal_number = WaitForShutdownSignal();
  spdlog::info("signal {}: shutting down", signal_number);
  daemon->reset();
  return 0;
}

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_MAIN_H_

// The end of every daemon's main(): report a failed start, write the port
// file, serve until SIGTERM/SIGINT/SIGHUP, then shut down by destroying the
// daemon object.
#ifndef PETREL_COMMON_DAEMON_DAEMON_MAIN_H_
#define PETREL_COMMON_DAEMON_DAEMON_MAIN_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "common/daemon/daemon_util.h"
#include "spdlog/spdlog.h"

namespace petrel {

// `Daemon` has ports() returning DaemonPorts, id() (empty: none) and
// logger(), its own logger. `role` names it in the default logger's lines,
// which now also carry its id: the components that still log through the
// default logger then name the daemon as before. Returns main()'s exit code.
template <typename Daemon>
int ServeUntilSignal(absl::StatusOr<std::unique_ptr<Daemon>> daemon, const std::string& name,
                     const std::string& role, const std::string& http_host,
                     const std::string& port_file) {
  if (!daemon.ok()) {
    spdlog::error("{} failed to start: {}", name, daemon.status().ToString());
    return 1;
  }
  if (const std::string id = (*daemon)->id(); !id.empty()) SetLoggingId(role, id);
  spdlog::logger& log = (*daemon)->logger();
  const DaemonPorts ports = (*daemon)->ports();
  if (!port_file.empty()) {
    absl::Status written = WritePortFile(port_file, ports);
    if (!written.ok()) {
      log.error("{}", written.ToString());
      return 1;
    }
  }
  log.info("{} ready: gRPC port {}, status on http://{}:{}/status", name, ports.grpc_port,
           http_host, ports.http_port);
  const int signal_number = WaitForShutdownSignal();
  log.info("signal {}: shutting down", signal_number);
  daemon->reset();
  return 0;
}

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_DAEMON_MAIN_H_

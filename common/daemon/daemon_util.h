// Small pieces every daemon's main() shares: the port file, shutdown on
// SIGTERM/SIGINT, and logging set-up.
#ifndef PETREL_COMMON_DAEMON_DAEMON_UTIL_H_
#define PETREL_COMMON_DAEMON_DAEMON_UTIL_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "spdlog/common.h"
#include "spdlog/logger.h"

namespace petrel {

struct DaemonPorts {
  int grpc_port = 0;
  int http_port = 0;
};

// Writes {"grpc_port": N, "http_port": M} to `path` atomically (temp file,
// rename), so a reader never sees half a file.
absl::Status WritePortFile(const std::string& path, const DaemonPorts& ports);
absl::StatusOr<DaemonPorts> ReadPortFile(const std::string& path);

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread. Call first in
// main(), before any thread starts, so that every thread inherits the mask and
// WaitForShutdownSignal alone receives them.
void BlockShutdownSignals();
// Waits for one of the blocked signals and returns its number.
int WaitForShutdownSignal();

// spdlog's default logger, with the process's role (and its daemon's id) in
// every line: for main()'s own lines and the components that still log
// through the default logger. Only main() calls these; daemons never touch
// the default logger's pattern.
void InitLogging(const std::string& role);
void SetLoggingId(const std::string& role, const std::string& id);

// A daemon's own logger: the default logger's line format with the daemon's
// role in every line, written to `sink` (null: stdout, where the default
// logger writes). Its sink is its own, since spdlog keeps the pattern in the
// sink, and it is not registered with spdlog, so two daemons in one process
// each keep their own role and id.
std::shared_ptr<spdlog::logger> NewDaemonLogger(const std::string& role,
                                                spdlog::sink_ptr sink = nullptr);
// Puts the daemon's id (what the coordinator registered it as) in the
// lines of `logger` from now on.
void SetDaemonLoggerId(spdlog::logger& logger, const std::string& role, const std::string& id);

// This machine's host name, for registration and status.
std::string HostName();

// Keeps freed memory in the process for reuse instead of returning it to the
// kernel: tensors of tens of megabytes would otherwise be mmapped and
// unmapped on every message, and the page faults of touching fresh pages
// cost more than the copy itself (measured with tools/bench_pushpull).
void KeepFreedMemoryForReuse();

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_DAEMON_UTIL_H_

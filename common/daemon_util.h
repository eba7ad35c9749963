// Small pieces every daemon's main() shares: the port file, shutdown on
// SIGTERM/SIGINT, and logging set-up.
#ifndef PETREL_COMMON_DAEMON_UTIL_H_
#define PETREL_COMMON_DAEMON_UTIL_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

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

// spdlog's default logger, with the daemon's role and id in every line.
void InitLogging(const std::string& role);
void SetLoggingId(const std::string& role, const std::string& id);

// This machine's host name, for registration and status.
std::string HostName();

// Keeps freed memory in the process for reuse instead of returning it to the
// kernel: tensors of tens of megabytes would otherwise be mmapped and
// unmapped on every message, and the page faults of touching fresh pages
// cost more than the copy itself (measured with tools/bench_pushpull).
void KeepFreedMemoryForReuse();

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_UTIL_H_

// A whole Petrel cluster on this machine, each daemon its own child process:
// the coordinator, N servers and M workers, talking gRPC over Unix sockets
// in the run's folder (or TCP on 127.0.0.1 with OS-chosen ports; HTTP status
// is always TCP on 127.0.0.1). Stops every child on destruction, and
// notices when one dies.
#ifndef PETREL_TOOLS_CLI_LOCAL_CLUSTER_H_
#define PETREL_TOOLS_CLI_LOCAL_CLUSTER_H_

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/daemon/daemon_util.h"
#include "common/rpc/rpc.h"

namespace petrel::cli {

// How the daemons of a local cluster, and this process, talk gRPC.
enum class LocalTransport {
  // Unix-domain sockets in RUN_DIR/sockets (0700: only this user can
  // connect), with a random cluster token checked on every call. No TLS:
  // nothing leaves the machine, and the kernel checks who may connect.
  kUnixSockets,
  // TCP on 127.0.0.1 with mutual TLS and the token, as a real cluster runs.
  kTls,
  // TCP on 127.0.0.1, no TLS and no token (--transport plaintext).
  kPlaintext,
};

struct ChildProcess {
  std::string name;      // "coordinator", "server-0", "worker-1" (launch order)
  pid_t pid = -1;
  std::string log_path;
  DaemonPorts ports;
};

class LocalCluster {
 public:
  struct Options {
    int servers = 1;
    int workers = 1;
    std::string bin_dir;   // where petrel-{coordinator,server,worker} are; empty: search
    std::string device = "auto";
    absl::Duration start_timeout = absl::Seconds(60);
    // kTls makes throwaway certificates (RUN_DIR/tls); kUnixSockets and
    // kTls both make a random cluster token (RUN_DIR/token), for the
    // daemons and this process's own calls.
    LocalTransport transport = LocalTransport::kUnixSockets;
    double heartbeat_timeout_seconds = 0;  // 0: the coordinator's default
  };

  // Starts every daemon and waits until all have registered.
  static absl::StatusOr<std::unique_ptr<LocalCluster>> Start(Options options);
  ~LocalCluster();  // stops every child still running

  std::string coordinator_address() const;
  const std::vector<ChildProcess>& children() const { return children_; }
  const std::string& log_dir() const { return log_dir_; }
  // Channels to this cluster's daemons, secured as its transport needs (the
  // token, and under kTls the cluster's CA).
  ChannelFactory& channels() const { return *channels_; }
  // How another `petrel` command reaches this cluster (no secret in it).
  std::string ConnectHint() const;

  // A child that exited on its own since the last call, if any, described
  // with the end of its log.
  std::optional<std::string> CheckForDeadChild();

  // SIGTERM to every child (workers, then servers, then the coordinator),
  // SIGKILL after a grace period. Idempotent.
  void Stop();

 private:
  LocalCluster() = default;
  absl::StatusOr<ChildProcess> Launch(const std::string& name, const std::string& binary,
                                      std::vector<std::string> args);
  absl::Status WaitForPorts(ChildProcess* child, const std::string& port_file,
                            absl::Time deadline);
  absl::Status WaitForRegistration(absl::Time deadline);
  // Writes RUN_DIR/token (and RUN_DIR/tls under kTls) and says in `client`
  // how this process reaches the daemons; returns the daemons' flags.
  absl::StatusOr<std::vector<std::string>> Secure(TransportSecurity* client);
  // RUN_DIR/sockets/NAME.sock: where daemon NAME serves gRPC (kUnixSockets).
  std::string SocketPath(const std::string& name) const;

  Options options_;
  std::string log_dir_;
  std::vector<ChildProcess> children_;
  std::shared_ptr<SecuredChannelFactory> channels_;
};

// Locates a daemon binary: in --bin_dir (flat, or a Bazel tree such as
// bazel-bin), next to this executable, in the Bazel tree this executable is
// part of, in its runfiles, then on PATH.
absl::StatusOr<std::string> FindDaemonBinary(const std::string& bin_dir, const std::string& name);

// The last `lines` lines of a file, for error messages.
std::string TailOfFile(const std::string& path, int lines);

}  // namespace petrel::cli

#endif  // PETREL_TOOLS_CLI_LOCAL_CLUSTER_H_

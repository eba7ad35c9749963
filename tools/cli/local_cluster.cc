#include "tools/cli/local_cluster.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <deque>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/rpc/auth.h"
#include "client/coordinator_client.h"
#include "common/rpc/rpc.h"
#include "common/status_macros.h"
#include "common/rpc/tls_certs.h"

namespace petrel::cli {
namespace {

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string SelfPath() {
  char buffer[4096] = {};
  ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  return n > 0 ? std::string(buffer, n) : "./petrel";
}

std::string SelfDir() {
  const std::string path = SelfPath();
  return path.substr(0, path.rfind('/'));
}

}  // namespace

absl::StatusOr<std::string> FindDaemonBinary(const std::string& bin_dir, const std::string& name) {
  const std::string package = name.substr(std::string("petrel-").size());  // server, ...
  std::vector<std::string> candidates;
  if (!bin_dir.empty()) {
    candidates.push_back(absl::StrCat(bin_dir, "/", name));
    candidates.push_back(absl::StrCat(bin_dir, "/", package, "/", name));  // a Bazel tree
  }
  candidates.push_back(absl::StrCat(SelfDir(), "/", name));
  candidates.push_back(absl::StrCat(SelfDir(), "/../../", package, "/", name));  // bazel-bin
  candidates.push_back(absl::StrCat(SelfPath(), ".runfiles/petrel/", package, "/", name));
  if (const char* path = getenv("PATH")) {
    for (absl::string_view dir : absl::StrSplit(path, ':')) {
      candidates.push_back(absl::StrCat(dir, "/", name));
    }
  }
  for (const std::string& candidate : candidates) {
    if (IsExecutable(candidate)) return candidate;
  }
  return absl::NotFoundError(absl::StrCat("cannot find ", name,
                                          "; build it (bazel build //...) or pass --bin_dir"));
}

std::string TailOfFile(const std::string& path, int lines) {
  std::ifstream in(path);
  std::deque<std::string> tail;
  std::string line;
  while (std::getline(in, line)) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out;
  for (const std::string& l : tail) absl::StrAppend(&out, "    ", l, "\n");
  return out;
}

absl::StatusOr<std::unique_ptr<LocalCluster>> LocalCluster::Start(Options options) {
  auto cluster = std::unique_ptr<LocalCluster>(new LocalCluster());
  cluster->options_ = options;
  char dir_template[] = "/tmp/petrel-local-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) {
    return absl::UnavailableError("cannot create a log directory under /tmp");
  }
  cluster->log_dir_ = dir_template;
  const absl::Time deadline = absl::Now() + options.start_timeout;

  PETREL_ASSIGN_OR_RETURN(std::string coordinator_bin,
                          FindDaemonBinary(options.bin_dir, "petrel-coordinator"));
  PETREL_ASSIGN_OR_RETURN(std::string server_bin, FindDaemonBinary(options.bin_dir, "petrel-server"));
  PETREL_ASSIGN_OR_RETURN(std::string worker_bin, FindDaemonBinary(options.bin_dir, "petrel-worker"));

  std::vector<std::string> security_flags;
  TransportSecurity client_security;  // plaintext unless Secure() says otherwise
  if (options.transport != LocalTransport::kPlaintext) {
    PETREL_ASSIGN_OR_RETURN(security_flags, cluster->Secure(&client_security));
  }
  PETREL_ASSIGN_OR_RETURN(cluster->channels_, SecuredChannelFactory::Create(client_security));
  if (options.transport == LocalTransport::kUnixSockets) {
    // mkdtemp made the run's folder 0700; the sockets get one of their own,
    // 0700 too, which the daemons check before they listen.
    const std::string sockets = cluster->log_dir_ + "/sockets";
    if (mkdir(sockets.c_str(), 0700) != 0) {
      return absl::UnavailableError(absl::StrCat("cannot create ", sockets));
    }
  }
  const std::string coordinator_ports = cluster->log_dir_ + "/coordinator.ports";
  // The coordinator keeps its jobs in the run's folder, as on a real
  // cluster, so the run can be inspected (and a restart tried) from there.
  std::vector<std::string> coordinator_args = {
      "--port=0", "--http_port=0", "--port_file=" + coordinator_ports,
      "--state_dir=" + cluster->log_dir_ + "/coordinator-state"};
  if (options.transport == LocalTransport::kUnixSockets) {
    coordinator_args.push_back("--grpc_socket=" + cluster->SocketPath("coordinator"));
  }
  if (options.heartbeat_timeout_seconds > 0) {
    coordinator_args.push_back(
        absl::StrCat("--heartbeat_timeout_seconds=", options.heartbeat_timeout_seconds));
  }
  coordinator_args.insert(coordinator_args.end(), security_flags.begin(), security_flags.end());
  PETREL_ASSIGN_OR_RETURN(ChildProcess coordinator,
                          cluster->Launch("coordinator", coordinator_bin, coordinator_args));
  cluster->children_.push_back(coordinator);
  PETREL_RETURN_IF_ERROR(
      cluster->WaitForPorts(&cluster->children_.back(), coordinator_ports, deadline));
  const std::string coordinator_flag = "--coordinator=" + cluster->coordinator_address();

  // One at a time: a daemon writes its port file only once it has
  // registered, so the coordinator's ids (server-0, worker-1, ...) follow
  // launch order and match the log file names.
  auto launch_all = [&](const std::string& role, const std::string& binary, int count,
                        std::vector<std::string> extra) -> absl::Status {
    for (int i = 0; i < count; ++i) {
      const std::string name = absl::StrCat(role, "-", i);
      const std::string port_file = absl::StrCat(cluster->log_dir_, "/", name, ".ports");
      std::vector<std::string> args = {coordinator_flag, "--port=0", "--http_port=0",
                                       "--port_file=" + port_file};
      args.insert(args.end(), extra.begin(), extra.end());
      args.insert(args.end(), security_flags.begin(), security_flags.end());
      if (options.transport == LocalTransport::kUnixSockets && role == "server") {
        args.push_back("--grpc_socket=" + cluster->SocketPath(name));
      }
      PETREL_ASSIGN_OR_RETURN(ChildProcess child, cluster->Launch(name, binary, args));
      cluster->children_.push_back(child);
      PETREL_RETURN_IF_ERROR(cluster->WaitForPorts(&cluster->children_.back(), port_file, deadline));
    }
    return absl::OkStatus();
  };
  PETREL_RETURN_IF_ERROR(launch_all("server", server_bin, options.servers, {}));
  PETREL_RETURN_IF_ERROR(launch_all("worker", worker_bin, options.workers,
                                    {"--device=" + options.device}));
  PETREL_RETURN_IF_ERROR(cluster->WaitForRegistration(deadline));
  return cluster;
}

LocalCluster::~LocalCluster() { Stop(); }

absl::StatusOr<std::vector<std::string>> LocalCluster::Secure(TransportSecurity* client) {
  const std::string tls_dir = log_dir_ + "/tls";
  if (options_.transport == LocalTransport::kTls) {
    PETREL_RETURN_IF_ERROR(WriteClusterCertificates(tls_dir, {}));
    // Nothing signs more certificates for a throwaway cluster.
    unlink((tls_dir + "/ca-key.pem").c_str());
  }
  // The token goes to the daemons in a file (0600, in a 0700 directory),
  // never on a command line, where `ps` would show it.
  const std::string token = NewClusterToken();
  const std::string token_path = log_dir_ + "/token";
  const int fd = open(token_path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 || write(fd, token.data(), token.size()) != static_cast<ssize_t>(token.size()) ||
      close(fd) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot write ", token_path));
  }
  client->role = "client";
  client->token = token;
  if (options_.transport == LocalTransport::kUnixSockets) {
    return std::vector<std::string>{"--token_file=" + token_path};
  }
  client->tls_dir = tls_dir;
  return std::vector<std::string>{"--tls_dir=" + tls_dir, "--mtls", "--token_file=" + token_path};
}

std::string LocalCluster::SocketPath(const std::string& name) const {
  return absl::StrCat(log_dir_, "/sockets/", name, ".sock");
}

std::string LocalCluster::ConnectHint() const {
  if (options_.transport == LocalTransport::kPlaintext) {
    return absl::StrCat("plaintext gRPC, no token; petrel status --coordinator ",
                        coordinator_address());
  }
  if (options_.transport == LocalTransport::kUnixSockets) {
    return absl::StrCat("Unix sockets (only you can connect) and a cluster token; "
                        "petrel status --coordinator ", coordinator_address(), " --token_file ",
                        log_dir_, "/token");
  }
  return absl::StrCat("mutual TLS and a cluster token; petrel status --coordinator ",
                      coordinator_address(), " --tls_dir ", log_dir_, "/tls --token_file ",
                      log_dir_, "/token");
}

std::string LocalCluster::coordinator_address() const {
  if (options_.transport == LocalTransport::kUnixSockets) {
    return "unix:" + SocketPath("coordinator");
  }
  return absl::StrCat("127.0.0.1:", children_.front().ports.grpc_port);
}

absl::StatusOr<ChildProcess> LocalCluster::Launch(const std::string& name,
                                                  const std::string& binary,
                                                  std::vector<std::string> args) {
  ChildProcess child;
  child.name = name;
  child.log_path = absl::StrCat(log_dir_, "/", name, ".log");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) return absl::UnavailableError(absl::StrCat("fork failed for ", name));
  if (pid == 0) {
    // The child: its own process group, so a Ctrl-C reaches the CLI alone
    // and the CLI stops the children in order; and SIGTERM if the CLI dies.
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    int fd = open(child.log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    // The daemons get this cluster's token by file, never a token of
    // another cluster that the caller's environment may hold.
    unsetenv(kClusterTokenEnv);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    std::vector<char*> argv = {const_cast<char*>(binary.c_str())};
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  child.pid = pid;
  return child;
}

absl::Status LocalCluster::WaitForPorts(ChildProcess* child, const std::string& port_file,
                                        absl::Time deadline) {
  while (true) {
    auto ports = ReadPortFile(port_file);
    if (ports.ok()) {
      child->ports = *ports;
      return absl::OkStatus();
    }
    int wstatus = 0;
    if (waitpid(child->pid, &wstatus, WNOHANG) == child->pid) {
      child->pid = -1;
      return absl::UnavailableError(absl::StrCat(child->name, " exited during start-up; its log (",
                                                 child->log_path, ") ends with:\n",
                                                 TailOfFile(child->log_path, 10)));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(child->name, " did not report its ports in time; see ", child->log_path));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status LocalCluster::WaitForRegistration(absl::Time deadline) {
  auto client = NewGrpcCoordinatorClient(*channels_, coordinator_address(), absl::Seconds(5));
  while (true) {
    auto status = client->GetClusterStatus();
    if (status.ok()) {
      int servers = 0, workers = 0;
      for (const NodeStatus& node : status->nodes()) {
        if (!node.alive()) continue;
        servers += node.role() == SERVER;
        workers += node.role() == WORKER;
      }
      if (servers >= options_.servers && workers >= options_.workers) return absl::OkStatus();
    }
    if (auto dead = CheckForDeadChild()) return absl::UnavailableError(*dead);
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("the daemons did not all register in time; logs are in ", log_dir_));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

std::optional<std::string> LocalCluster::CheckForDeadChild() {
  for (ChildProcess& child : children_) {
    if (child.pid <= 0) continue;
    int wstatus = 0;
    if (waitpid(child.pid, &wstatus, WNOHANG) != child.pid) continue;
    child.pid = -1;
    std::string how = WIFSIGNALED(wstatus) ? absl::StrCat("was killed by signal ", WTERMSIG(wstatus))
                                           : absl::StrCat("exited with status ", WEXITSTATUS(wstatus));
    return absl::StrCat(child.name, " ", how, "; its log (", child.log_path, ") ends with:\n",
                        TailOfFile(child.log_path, 10));
  }
  return std::nullopt;
}

void LocalCluster::Stop() {
  // Workers first, so nothing is left pushing to a server that is gone.
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    if (it->pid > 0) kill(it->pid, SIGTERM);
  }
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  for (ChildProcess& child : children_) {
    while (child.pid > 0) {
      if (waitpid(child.pid, nullptr, WNOHANG) == child.pid) {
        child.pid = -1;
      } else if (absl::Now() > deadline) {
        kill(child.pid, SIGKILL);
        waitpid(child.pid, nullptr, 0);
        child.pid = -1;
      } else {
        absl::SleepFor(absl::Milliseconds(10));
      }
    }
  }
}

}  // namespace petrel::cli

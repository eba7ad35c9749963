#include "common/daemon/daemon_util.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "spdlog/spdlog.h"

namespace petrel {

absl::Status WritePortFile(const std::string& path, const DaemonPorts& ports) {
  nlohmann::json doc = {{"grpc_port", ports.grpc_port}, {"http_port", ports.http_port}};
  const std::string temp = absl::StrCat(path, ".tmp.", getpid());
  {
    std::ofstream out(temp);
    out << doc.dump() << "\n";
    if (!out.good()) return absl::UnavailableError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<DaemonPorts> ReadPortFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("no port file at ", path));
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.contains("grpc_port") || !doc.contains("http_port")) {
    return absl::DataLossError(absl::StrCat("malformed port file ", path));
  }
  return DaemonPorts{doc["grpc_port"].get<int>(), doc["http_port"].get<int>()};
}

namespace {
sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGHUP);
  return set;
}
}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set = ShutdownSignals();
  int signal_number = 0;
  sigwait(&set, &signal_number);
  return signal_number;
}

namespace {
// Every line: time, level, then who wrote it ("server", "server server-1").
std::string LogPattern(const std::string& who) {
  return absl::StrCat("%Y-%m-%d %H:%M:%S.%e %^%L%$ [", who, "] %v");
}
}  // namespace

void InitLogging(const std::string& role) {
  spdlog::set_pattern(LogPattern(role));
  spdlog::set_level(spdlog::level::info);
}

void SetLoggingId(const std::string& role, const std::string& id) {
  spdlog::set_pattern(LogPattern(absl::StrCat(role, " ", id)));
}

std::shared_ptr<spdlog::logger> NewDaemonLogger(const std::string& role, spdlog::sink_ptr sink) {
  if (sink == nullptr) sink = std::make_shared<spdlog::sinks::stdout_color_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>(role, std::move(sink));
  logger->set_pattern(LogPattern(role));
  logger->set_level(spdlog::level::info);
  return logger;
}

void SetDaemonLoggerId(spdlog::logger& logger, const std::string& role, const std::string& id) {
  logger.set_pattern(LogPattern(absl::StrCat(role, " ", id)));
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace petrel

#include "common/daemon/daemon_options.h"

namespace petrel {

std::string LocalAddressTowards(const std::string& host_port) {
  const size_t colon = host_port.rfind(':');
  if (colon == std::string::npos) return "";
  const std::string host = host_port.substr(0, colon), port = host_port.substr(colon + 1);
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) return "";
  std::string address;
  // Connecting a UDP socket only asks the kernel for a route: nothing is sent.
  const int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  socklen_t length = sizeof(local);
  if (fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
    char text[INET_ADDRSTRLEN];
    if (inet_ntop(AF_INET, &local.sin_addr, text, sizeof(text)) != nullptr) address = text;
  }
  if (fd >= 0) close(fd);
  freeaddrinfo(found);
  return address;
}

std::string GrpcBindHost(const ListenOptions& listen) {
  return listen.grpc_socket.empty() ? listen.host : "unix:" + listen.grpc_socket;
}

std::string AdvertisedAddress(const ListenOptions& listen, int port,
                              const std::string& coordinator) {
  if (!listen.grpc_socket.empty()) return GrpcBindHost(listen);
  std::string host = listen.advertise_host;
  if (host.empty()) {
    const bool wildcard = listen.host == "0.0.0.0" || listen.host == "::" || listen.host.empty();
    if (!wildcard) {
      host = listen.host;
    } else {
      host = coordinator.empty() ? "" : LocalAddressTowards(coordinator);
      if (host.empty()) host = HostName();
    }
  }
  return absl::StrCat(host, ":", port);
}

std::string AdvertisedHttpAddress(const ListenOptions& listen, int http_port,
                                  const std::string& coordinator) {
  const std::string& host = listen.http_host;
  if (host != "0.0.0.0" && host != "::" && !host.empty()) return absl::StrCat(host, ":", http_port);
  ListenOptions as_grpc = listen;
  as_grpc.host = host;  // a wildcard: advertise as the gRPC side would
  return AdvertisedAddress(as_grpc, http_port, coordinator);
}

void KeepFreedMemoryForReuse() {
  // Allocations up to 32 MiB (glibc's largest threshold; chunks are 4 MiB)
  // come from the heap rather than mmap of their own, and up to 1 GiB of
  // free heap stays mapped.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace petrel

#include "common/daemon_util.h"

#include <malloc.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
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

void InitLogging(const std::string& role) {
  spdlog::set_pattern(absl::StrCat("%Y-%m-%d %H:%M:%S.%e %^%L%$ [", role, "] %v"));
  spdlog::set_level(spdlog::level::info);
}

void SetLoggingId(const std::string& role, const std::string& id) {
  spdlog::set_pattern(absl::StrCat("%Y-%m-%d %H:%M:%S.%e %^%L%$ [", role, " ", id, "] %v"));
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace petrel

#include "common/daemon_options.h"

namespace petrel {

std::string AdvertisedAddress(const ListenOptions& listen, int port) {
  std::string host = listen.advertise_host;
  if (host.empty()) {
    host = (listen.host == "0.0.0.0" || listen.host == "::" || listen.host.empty()) ? HostName()
                                                                                     : listen.host;
  }
  return absl::StrCat(host, ":", port);
}

void KeepFreedMemoryForReuse() {
  // Allocations up to 32 MiB (glibc's largest threshold; chunks are 4 MiB)
  // come from the heap rather than mmap of their own, and up to 1 GiB of
  // free heap stays mapped.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

}  // namespace petrel

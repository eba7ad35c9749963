#include "tools/bench/yardsticks.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace petrel::bench {
namespace {

using Clock = std::chrono::steady_clock;

bool WriteAll(int fd, const char* data, int64_t size) {
  while (size > 0) {
    const ssize_t n = write(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= n;
  }
  return true;
}

bool ReadAll(int fd, char* data, int64_t size) {
  while (size > 0) {
    const ssize_t n = read(fd, data, size);
    if (n <= 0) return false;
    data += n;
    size -= n;
  }
  return true;
}

// The child: accepts one connection, then for each round reads a whole
// message and answers one byte.
[[noreturn]] void Receiver(int listener, int64_t message_bytes, int rounds) {
  const int fd = accept(listener, nullptr, nullptr);
  if (fd < 0) _exit(1);
  std::vector<char> buffer(message_bytes);
  const char ack = 1;
  for (int i = 0; i < rounds; ++i) {
    if (!ReadAll(fd, buffer.data(), message_bytes) || !WriteAll(fd, &ack, 1)) _exit(1);
  }
  _exit(0);
}

}  // namespace

absl::StatusOr<std::vector<double>> RawTcpRounds(int64_t message_bytes, int64_t write_bytes,
                                                 int rounds) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    return absl::InternalError(absl::StrCat("raw TCP yardstick: ", strerror(errno)));
  }
  const pid_t child = fork();
  if (child < 0) return absl::InternalError("raw TCP yardstick: fork failed");
  if (child == 0) Receiver(listener, message_bytes, rounds);
  close(listener);

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  std::vector<double> seconds;
  absl::Status status;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    status = absl::InternalError(absl::StrCat("raw TCP yardstick: connect: ", strerror(errno)));
  } else {
    std::vector<char> message(message_bytes, 'x');
    char ack;
    for (int i = 0; i < rounds && status.ok(); ++i) {
      const auto start = Clock::now();
      for (int64_t sent = 0; sent < message_bytes && status.ok(); sent += write_bytes) {
        if (!WriteAll(fd, message.data() + sent, std::min(write_bytes, message_bytes - sent))) {
          status = absl::InternalError("raw TCP yardstick: write failed");
        }
      }
      if (status.ok() && !ReadAll(fd, &ack, 1)) {
        status = absl::InternalError("raw TCP yardstick: no acknowledgement");
      }
      seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
  }
  close(fd);
  int wait_status = 0;
  waitpid(child, &wait_status, 0);
  if (!status.ok()) return status;
  return seconds;
}

double MemcpyBytesPerSecond(int64_t bytes, int rounds) {
  std::vector<char> from(bytes, 1), to(bytes, 0);
  double best = 0;
  for (int i = 0; i < rounds; ++i) {
    const auto start = Clock::now();
    std::memcpy(to.data(), from.data(), bytes);
    const double s = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::max(best, bytes / s);
    from[i % bytes] = to[(i * 7) % bytes];  // keeps the copies observable
  }
  return best;
}

double Quantile(std::vector<double>& samples, double q) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  const size_t index = std::min(samples.size() - 1, static_cast<size_t>(q * samples.size()));
  return samples[index];
}

}  // namespace petrel::bench

#include "tools/bench/yardsticks.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

// The child: for each round reads a whole message from `fd` into `buffer`
// and answers one byte. The buffer is allocated before the fork: the parent
// may have gRPC threads, and a forked child must not call malloc.
[[noreturn]] void Receive(int fd, std::vector<char>& buffer, int rounds) {
  const char ack = 1;
  for (int i = 0; i < rounds; ++i) {
    if (!ReadAll(fd, buffer.data(), buffer.size()) || !WriteAll(fd, &ack, 1)) _exit(1);
  }
  _exit(0);
}

// The parent's side of the rounds, on a connected `fd`.
absl::StatusOr<std::vector<double>> Send(int fd, const std::string& what, int64_t message_bytes,
                                         int64_t write_bytes, int rounds) {
  std::vector<char> message(message_bytes, 'x');
  std::vector<double> seconds;
  char ack;
  for (int i = 0; i < rounds; ++i) {
    const auto start = Clock::now();
    for (int64_t sent = 0; sent < message_bytes; sent += write_bytes) {
      if (!WriteAll(fd, message.data() + sent, std::min(write_bytes, message_bytes - sent))) {
        return absl::InternalError(absl::StrCat(what, ": write failed: ", strerror(errno)));
      }
    }
    if (!ReadAll(fd, &ack, 1)) {
      return absl::InternalError(absl::StrCat(what, ": no acknowledgement"));
    }
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  return seconds;
}

// Ends the child (which exits by itself after its rounds, or on EOF).
void Reap(pid_t child) {
  int wait_status = 0;
  waitpid(child, &wait_status, 0);
}

absl::StatusOr<std::vector<double>> TcpRounds(int64_t message_bytes, int64_t write_bytes,
                                              int rounds) {
  const std::string what = "raw TCP yardstick";
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    const std::string error = strerror(errno);
    if (listener >= 0) close(listener);
    return absl::InternalError(absl::StrCat(what, ": ", error));
  }
  std::vector<char> buffer(message_bytes);
  const pid_t child = fork();
  if (child < 0) {
    close(listener);
    return absl::InternalError(absl::StrCat(what, ": fork failed"));
  }
  if (child == 0) {
    const int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) _exit(1);
    Receive(fd, buffer, rounds);
  }
  close(listener);

  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  absl::StatusOr<std::vector<double>> seconds;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    seconds = absl::InternalError(absl::StrCat(what, ": connect: ", strerror(errno)));
  } else {
    seconds = Send(fd, what, message_bytes, write_bytes, rounds);
  }
  close(fd);
  Reap(child);
  return seconds;
}

// A connected pair rather than a bound path: the kernel moves the bytes the
// same way (gRPC's sockets in RUN_DIR/sockets are AF_UNIX streams too), and
// nothing is left in the filesystem.
absl::StatusOr<std::vector<double>> UnixRounds(int64_t message_bytes, int64_t write_bytes,
                                               int rounds) {
  const std::string what = "raw Unix-socket yardstick";
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
    return absl::InternalError(absl::StrCat(what, ": socketpair: ", strerror(errno)));
  }
  std::vector<char> buffer(message_bytes);
  const pid_t child = fork();
  if (child < 0) {
    close(pair[0]);
    close(pair[1]);
    return absl::InternalError(absl::StrCat(what, ": fork failed"));
  }
  if (child == 0) {
    close(pair[0]);
    Receive(pair[1], buffer, rounds);
  }
  close(pair[1]);
  auto seconds = Send(pair[0], what, message_bytes, write_bytes, rounds);
  close(pair[0]);
  Reap(child);
  return seconds;
}

}  // namespace

std::string RawSocketName(RawSocket socket) {
  return socket == RawSocket::kTcp ? "TCP" : "Unix";
}

absl::StatusOr<std::vector<double>> RawSocketRounds(RawSocket socket, int64_t message_bytes,
                                                    int64_t write_bytes, int rounds) {
  if (message_bytes < 1 || write_bytes < 1 || rounds < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "raw ", RawSocketName(socket), " yardstick: message_bytes, write_bytes and rounds ",
        "must be positive (got ", message_bytes, ", ", write_bytes, ", ", rounds, ")"));
  }
  return socket == RawSocket::kTcp ? TcpRounds(message_bytes, write_bytes, rounds)
                                   : UnixRounds(message_bytes, write_bytes, rounds);
}

absl::StatusOr<double> RawSocketBytesPerSecond(RawSocket socket, int64_t message_bytes,
                                               int rounds) {
  constexpr int kWarmUp = 2;
  auto seconds = RawSocketRounds(socket, message_bytes, 4 << 20, rounds + kWarmUp);
  if (!seconds.ok()) return seconds.status();
  double total = 0;
  for (size_t i = kWarmUp; i < seconds->size(); ++i) total += (*seconds)[i];
  return static_cast<double>(message_bytes) * rounds / total;
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

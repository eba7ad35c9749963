// The yardsticks tools/bench_pushpull measures the parameter service against,
// in the same run and on the same machine: what plain sockets and memcpy do
// with the same bytes. Ratios to them survive a noisy, shared machine better
// than absolute figures do.
#ifndef PETREL_TOOLS_BENCH_YARDSTICKS_H_
#define PETREL_TOOLS_BENCH_YARDSTICKS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace petrel::bench {

// The two raw sockets a local cluster's gRPC can run over: TCP on 127.0.0.1
// (--transport tls or plaintext) and a Unix-domain stream socket (unix).
enum class RawSocket { kTcp, kUnix };
std::string RawSocketName(RawSocket socket);  // "TCP", "Unix"

// Request/acknowledge over `socket` between this process and a forked child:
// each round sends `message_bytes` (written in `write_bytes` pieces) and
// waits for the child's 1-byte acknowledgement once the child has read all of
// it into a buffer, as a push does. Returns each round's seconds.
absl::StatusOr<std::vector<double>> RawSocketRounds(RawSocket socket, int64_t message_bytes,
                                                    int64_t write_bytes, int rounds);

// Bytes per second of RawSocketRounds over `rounds` timed rounds of
// `message_bytes` in 4 MiB writes (what the PS client's chunks are), after
// two untimed warm-up rounds.
absl::StatusOr<double> RawSocketBytesPerSecond(RawSocket socket, int64_t message_bytes,
                                               int rounds);

// Bytes copied per second by memcpy between two buffers of `bytes` (touched
// beforehand, so page faults are not counted), best of `rounds`.
double MemcpyBytesPerSecond(int64_t bytes, int rounds);

// Median and the given quantile of `samples` (which it sorts).
double Quantile(std::vector<double>& samples, double q);

}  // namespace petrel::bench

#endif  // PETREL_TOOLS_BENCH_YARDSTICKS_H_

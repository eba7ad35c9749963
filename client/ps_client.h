// A worker's view of the parameter servers: pull every table of its job and
// push a gradient for every table, across all shards in parallel. The
// interface lets the trainer run against a fake in tests.
#ifndef PETREL_CLIENT_PS_CLIENT_H_
#define PETREL_CLIENT_PS_CLIENT_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "common/rpc/channel_factory.h"
#include "proto/job.pb.h"

namespace petrel::worker {

// The rows of the sparse tables one step touches. keys[t] are distinct keys
// of the shard map's sparse table t; rows[t] holds keys[t].size() x dim
// floats: the values after a Pull, the gradients given to a Push.
struct SparseStep {
  std::vector<std::vector<uint64_t>> keys;
  std::vector<std::vector<float>> rows;
};

class PsClient {
 public:
  virtual ~PsClient() = default;

  // Fills tables[i] with the values of the shard map's table i (resized to
  // fit) and, when `sparse` is given, sparse->rows with the rows of its keys.
  virtual absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                            SparseStep* sparse = nullptr) = 0;

  // Sends gradients[i] for table i (and the sparse rows' gradients); returns
  // once every shard applied its part.
  virtual absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                            const SparseStep* sparse = nullptr) = 0;

  // Push(clock, gradients) and Pull(clock + 1, next) in one round trip
  // where the client can (PushRequest.pull_next): each server answers the
  // push with the dense values of clock + 1 once its staleness gate lets
  // that clock through, exactly as the pull would. Dense tables only: a job
  // with sparse tables pushes their gradients with Push, and pulls.
  virtual absl::Status PushPull(int64_t clock, const std::vector<std::vector<float>>& gradients,
                                std::vector<std::vector<float>>* next) {
    absl::Status pushed = Push(clock, gradients);
    return pushed.ok() ? Pull(clock + 1, next) : pushed;
  }

  // Tells every shard this worker has pushed its last clock, so no one waits
  // for it any more. Pulls still work afterwards; pushes do not.
  virtual absl::Status Leave(int64_t clock) = 0;

  // Federated rounds: uploads this worker's update for `round`, table i's
  // elements as fixed-point uint64s (masked under secure aggregation), and
  // its weight encoded alike; returns once every shard group holds it. The
  // servers apply it only when the coordinator closes the round.
  virtual absl::Status PushRoundUpdate(int64_t round,
                                       const std::vector<std::vector<uint64_t>>& update,
                                       uint64_t weight) {
    return absl::UnimplementedError("this parameter-server client cannot upload federated rounds");
  }
};

struct PsClientOptions {
  std::string job_id;
  std::string worker_id;     // empty for observers
  bool observer = false;     // read-only, outside the job's clock
  absl::Duration call_timeout = absl::Seconds(120);
  // How long to keep retrying a shard that is unreachable (UNAVAILABLE) or
  // has not received the job's placement yet (NOT_FOUND before the first
  // success).
  absl::Duration retry_timeout = absl::Seconds(30);
  // Large tables travel in requests of at most this many bytes, this many at
  // a time per server: the server applies one while the next is on the wire.
  int64_t chunk_bytes = 4 << 20;
  int chunks_in_flight = 2;
  // How dense gradients are encoded on the wire (the job's compression).
  CompressionSpec compression;
  // Where the client's channels come from (its daemon's, secured as it is);
  // not owned. Null: plaintext channels with no token (tests in one process).
  ChannelFactory* channels = nullptr;
};

std::unique_ptr<PsClient> NewGrpcPsClient(const ShardMap& shard_map, PsClientOptions options);

}  // namespace petrel::worker

#endif  // PETREL_CLIENT_PS_CLIENT_H_

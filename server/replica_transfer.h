// Moving a shard group's state (a serialized ReplicaState) from the chain's
// last up-to-date server to a server being rebuilt, when it is far larger
// than one gRPC message (kMaxMessageBytes): as chunks of one transfer, each
// carrying its offset, the total size and the SHA-256 of the whole.
//
// The sender (SendReplicaState) serialises one snapshot and sends it chunk
// by chunk; a call that fails on the way (broken connection, deadline) is
// followed by a question to the receiver (a chunk with no bytes) and the
// transfer resumes from the bytes the receiver holds, at most `attempts`
// failures in a row. The receiver (ReplicaAssembler, held by the group's
// JobShards) accepts only the next bytes of the transfer in progress, and
// hands the state over only once all are in and the checksum matches.
//
// The receiver's assembler, per (job, group):
//
//   empty     --byte 0 of transfer T-------------------> holding T
//   holding T --the next chunk of T (a repeat: as is)--> holding T
//   holding T --byte 0 of another transfer U-----------> holding U (T abandoned)
//   holding T --the last chunk, checksum matches-------> complete --Take()--> empty
//   holding T --the last chunk, checksum differs-------> empty (DATA_LOSS)
//
// A refused chunk changes nothing. Once complete, JobShards parses and
// installs the state; a partial transfer never installs anything.
//
// Pure logic: no gRPC here, and no lock (JobShards holds it under its own).
#ifndef PETREL_SERVER_REPLICA_TRANSFER_H_
#define PETREL_SERVER_REPLICA_TRANSFER_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/rpc/openssl_ptr.h"
#include "proto/parameter.pb.h"

namespace petrel::server {

// Chunk sizes: a few MiB, well under the 64 MiB message cap, so a chunk's
// call is short and a broken one costs little to repeat.
inline constexpr int64_t kDefaultReplicaChunkBytes = int64_t{4} << 20;

// Chunk [offset, offset + chunk_bytes) of `state` (shorter at the end) of
// transfer `transfer_id` of the group that `header` names (its job,
// group and epoch are copied).
InstallReplicaRequest MakeReplicaChunk(const InstallReplicaRequest& header,
                                       const std::string& transfer_id, absl::string_view state,
                                       absl::string_view sha256, int64_t offset,
                                       int64_t chunk_bytes);

struct ReplicaSendOptions {
  int64_t chunk_bytes = kDefaultReplicaChunkBytes;
  // Failed calls in a row (no byte gained between them) before giving up.
  int attempts = 5;
  // Waited after the k-th failure in a row: k times this.
  absl::Duration backoff = absl::Milliseconds(200);
};

struct ReplicaSendStats {
  int64_t bytes = 0;
  int chunks = 0;     // chunk calls answered OK
  int failures = 0;   // calls that failed and were resumed from
};

// One InstallReplica call to the receiver; the sender's only view of the
// transport (tests pass a fake).
using ReplicaChunkCall =
    std::function<absl::StatusOr<InstallReplicaResponse>(const InstallReplicaRequest&)>;

// Sends `state` (one serialized snapshot, never re-taken) as transfer
// `transfer_id`. OK once the receiver says it installed the state. A call
// that fails UNAVAILABLE or DEADLINE_EXCEEDED is resumed from; any other
// refusal (a checksum mismatch, a group that is not awaiting the state, a
// state that does not fit) ends the transfer with that error.
absl::StatusOr<ReplicaSendStats> SendReplicaState(const InstallReplicaRequest& header,
                                                  const std::string& transfer_id,
                                                  absl::string_view state,
                                                  const ReplicaChunkCall& call,
                                                  const ReplicaSendOptions& options);

// A fresh transfer id: unlikely ever to repeat (time and randomness).
std::string NewTransferId();

// The receiver's side: the chunks of the transfer in progress.
class ReplicaAssembler {
 public:
  ReplicaAssembler();

  // Takes `chunk` (already addressed to this group). Returns the bytes of
  // its transfer now held; a chunk with no bytes only asks, and a repeat of
  // bytes already held is acknowledged without being taken again. Refused,
  // changing nothing: a request without a transfer id, total or 32-byte
  // checksum (INVALID_ARGUMENT), a total above kMaxReplicaStateBytes
  // (RESOURCE_EXHAUSTED), a chunk that does not start where the held bytes
  // end or reaches past the declared total (OUT_OF_RANGE), a total or
  // checksum that differ from the transfer's first chunk (INVALID_ARGUMENT),
  // bytes of a transfer other than the one in progress that do not start
  // at offset 0 (ABORTED: start again). A chunk at offset 0 of a new
  // transfer drops the one in progress. When the last byte is in, the
  // checksum is verified: a mismatch drops the whole transfer (DATA_LOSS).
  absl::StatusOr<int64_t> Add(const InstallReplicaRequest& chunk);

  // Every byte of the transfer is in and matches its checksum.
  bool complete() const { return !transfer_id_.empty() && held() == total_; }
  // The complete state; the assembler is empty afterwards.
  std::string Take();
  // Drops whatever is held.
  void Clear();

  const std::string& transfer_id() const { return transfer_id_; }
  int64_t held() const { return static_cast<int64_t>(bytes_.size()); }
  int64_t total() const { return total_; }

 private:
  std::string transfer_id_;  // "": nothing held
  int64_t total_ = 0;
  std::string sha256_;
  std::string bytes_;
  openssl::MdCtx digest_;  // over bytes_, as they arrive
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_REPLICA_TRANSFER_H_

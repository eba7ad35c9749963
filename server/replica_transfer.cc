#include "server/replica_transfer.h"

#include <openssl/sha.h>

#include <algorithm>

#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/rpc/request_limits.h"
#include "common/sha256.h"

namespace petrel::server {

InstallReplicaRequest MakeReplicaChunk(const InstallReplicaRequest& header,
                                       const std::string& transfer_id, absl::string_view state,
                                       absl::string_view sha256, int64_t offset,
                                       int64_t chunk_bytes) {
  InstallReplicaRequest chunk;
  chunk.set_job_id(header.job_id());
  chunk.set_shard_group(header.shard_group());
  chunk.set_shard_map_epoch(header.shard_map_epoch());
  chunk.set_transfer_id(transfer_id);
  chunk.set_offset(offset);
  chunk.set_total_bytes(static_cast<int64_t>(state.size()));
  chunk.set_sha256(std::string(sha256));
  if (offset >= 0 && offset < static_cast<int64_t>(state.size()) && chunk_bytes > 0) {
    chunk.set_chunk(std::string(state.substr(offset, chunk_bytes)));
  }
  return chunk;
}

std::string NewTransferId() {
  absl::BitGen random;
  return absl::StrCat(absl::ToUnixMicros(absl::Now()), "-",
                      absl::Hex(absl::Uniform<uint64_t>(random), absl::kZeroPad16));
}

namespace {

// The call may be repeated: the connection broke or the deadline passed,
// and the receiver may or may not have taken the chunk.
bool Resumable(const absl::Status& status) {
  return absl::IsUnavailable(status) || absl::IsDeadlineExceeded(status);
}

}  // namespace

absl::StatusOr<ReplicaSendStats> SendReplicaState(const InstallReplicaRequest& header,
                                                  const std::string& transfer_id,
                                                  absl::string_view state,
                                                  const ReplicaChunkCall& call,
                                                  const ReplicaSendOptions& options) {
  const int64_t total = static_cast<int64_t>(state.size());
  const int64_t chunk_bytes = std::max<int64_t>(1, options.chunk_bytes);
  const std::string sha256 = Sha256(state);
  ReplicaSendStats stats;
  stats.bytes = total;
  int64_t offset = 0;     // the first byte the receiver has not confirmed
  int failures = 0;       // failed calls in a row, without a byte gained
  bool ask = false;       // the last call failed: ask where the receiver stands
  while (true) {
    const bool asking = ask;
    const InstallReplicaRequest request =
        MakeReplicaChunk(header, transfer_id, state, sha256, offset, asking ? 0 : chunk_bytes);
    absl::StatusOr<InstallReplicaResponse> answer = call(request);
    if (!answer.ok()) {
      const std::string where =
          absl::StrCat("state transfer ", transfer_id, " (", asking ? "asking the receiver" : "the chunk",
                       " at byte ", offset, " of ", total, ")");
      if (!Resumable(answer.status())) {
        return absl::Status(answer.status().code(),
                            absl::StrCat(where, ": ", answer.status().message()));
      }
      if (++failures >= options.attempts) {
        return absl::UnavailableError(absl::StrCat(where, ": ", failures,
                                                   " failed calls in a row; the last: ",
                                                   answer.status().message()));
      }
      ++stats.failures;
      ask = true;
      absl::SleepFor(options.backoff * failures);
      continue;
    }
    if (!asking) ++stats.chunks;
    if (answer->installed()) return stats;
    const int64_t held = answer->held_bytes();
    // Every chunk taken moves the receiver on; it installs on the last one.
    if (held < 0 || held >= total || (!asking && held <= offset)) {
      return absl::InternalError(absl::StrCat(
          "state transfer ", transfer_id, ": after the ", asking ? "question" : "chunk",
          " at byte ", offset, " the receiver holds ", held, " bytes of ", total,
          " and has not installed the state"));
    }
    if (held > offset) failures = 0;
    offset = held;  // after a question: possibly less (the receiver lost what it had)
    ask = false;
  }
}

ReplicaAssembler::ReplicaAssembler() : digest_(EVP_MD_CTX_new()) {}

absl::StatusOr<int64_t> ReplicaAssembler::Add(const InstallReplicaRequest& chunk) {
  const std::string& id = chunk.transfer_id();
  const int64_t offset = chunk.offset();
  const int64_t size = static_cast<int64_t>(chunk.chunk().size());
  const int64_t total = chunk.total_bytes();
  if (id.empty()) return absl::InvalidArgumentError("InstallReplica: the chunk names no transfer");
  const std::string what = absl::StrCat("state transfer ", id);
  if (total <= 0 || chunk.sha256().size() != SHA256_DIGEST_LENGTH) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": a chunk must declare the state's size (", total,
        " given) and its 32-byte SHA-256 (", chunk.sha256().size(), " bytes given)"));
  }
  if (total > kMaxReplicaStateBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(what, ": a state of ", total,
                                                     " bytes exceeds the limit of ",
                                                     kMaxReplicaStateBytes, " bytes"));
  }
  if (offset < 0 || offset > total || size > total - offset) {
    return absl::OutOfRangeError(absl::StrCat(what, ": bytes [", offset, ", ", offset + size,
                                              ") reach past the declared total of ", total));
  }
  const bool current = id == transfer_id_;
  if (size == 0) return current ? held() : 0;  // a question
  if (!current) {
    if (offset != 0) {
      return absl::AbortedError(absl::StrCat(
          what, " is not in progress here (",
          transfer_id_.empty() ? std::string("no transfer is") : transfer_id_ + " is",
          "); its chunk at byte ", offset, " cannot be taken: start again from byte 0"));
    }
    Clear();  // the transfer in progress was abandoned by its sender
    transfer_id_ = id;
    total_ = total;
    sha256_ = chunk.sha256();
    EVP_DigestInit_ex(digest_.get(), EVP_sha256(), nullptr);
  } else if (total != total_ || chunk.sha256() != sha256_) {
    return absl::InvalidArgumentError(absl::StrCat(
        what, ": the chunk at byte ", offset, " declares another state (", total,
        " bytes) than its first chunk (", total_, " bytes, another checksum)"));
  }
  if (offset + size <= held()) return held();  // a repeat of bytes already taken
  if (offset != held()) {
    return absl::OutOfRangeError(absl::StrCat(what, ": the chunk at byte ", offset,
                                              " is out of order; ", held(),
                                              " bytes are held, the next chunk starts there"));
  }
  bytes_.append(chunk.chunk());
  EVP_DigestUpdate(digest_.get(), chunk.chunk().data(), chunk.chunk().size());
  if (held() < total_) return held();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(digest_.get(), digest, &length);
  if (std::string(reinterpret_cast<const char*>(digest), length) != sha256_) {
    const std::string expected = absl::BytesToHexString(sha256_);
    Clear();
    return absl::DataLossError(absl::StrCat(
        what, ": the ", total, " bytes received do not match their SHA-256 ", expected,
        "; the partial state is discarded and the group still awaits its state"));
  }
  return held();
}

std::string ReplicaAssembler::Take() {
  std::string bytes = std::move(bytes_);
  Clear();
  return bytes;
}

void ReplicaAssembler::Clear() {
  transfer_id_.clear();
  total_ = 0;
  sha256_.clear();
  std::string().swap(bytes_);  // frees the memory too
}

}  // namespace petrel::server

#include "common/rpc/request_limits.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace petrel {
namespace {

// `keys`: the sparse keys the request carries, over all its sparse slices.
template <typename Request>
absl::Status CheckCommon(const Request& request, const char* what, int64_t keys) {
  if (request.job_id().size() > kMaxNameBytes || request.worker_id().size() > kMaxNameBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the ", what, "'s job or worker id is longer than the limit of ", kMaxNameBytes,
        " bytes (kMaxNameBytes)"));
  }
  const int64_t slices = int64_t{request.slices_size()} + request.sparse_size();
  if (slices > kMaxSlicesPerRequest) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the ", what, " has ", slices, " slices, past the limit of ",
                     kMaxSlicesPerRequest, " per request (kMaxSlicesPerRequest)"));
  }
  for (const SparseSlice& sparse : request.sparse()) {
    if (sparse.table().size() > kMaxNameBytes) {
      return absl::ResourceExhaustedError(absl::StrCat("a table name in the ", what,
                                                       " is longer than the limit of ",
                                                       kMaxNameBytes, " bytes (kMaxNameBytes)"));
    }
  }
  if (keys > kMaxKeysPerRequest) {
    return absl::ResourceExhaustedError(
        absl::StrCat("the ", what, " has ", keys, " sparse keys, past the limit of ",
                     kMaxKeysPerRequest, " per request (kMaxKeysPerRequest)"));
  }
  for (const Slice& slice : request.slices()) {
    if (slice.table().size() > kMaxNameBytes) {
      return absl::ResourceExhaustedError(absl::StrCat("a table name in the ", what,
                                                       " is longer than the limit of ",
                                                       kMaxNameBytes, " bytes (kMaxNameBytes)"));
    }
  }
  return absl::OkStatus();
}

template <typename Request>
int64_t KeysOf(const Request& request) {
  int64_t keys = 0;
  for (const SparseSlice& sparse : request.sparse()) {
    keys += static_cast<int64_t>(sparse.keys().size() / sizeof(uint64_t));
  }
  return keys;
}

}  // namespace

absl::Status CheckRequestLimits(const PullRequest& request) {
  return CheckCommon(request, "pull", KeysOf(request));
}

absl::Status CheckRequestLimits(const PushRequest& request) {
  return CheckCommon(request, "push", KeysOf(request));
}

absl::Status CheckRequestLimits(const PushView& push) {
  int64_t keys = 0;
  for (absl::string_view bytes : push.sparse_keys) {
    keys += static_cast<int64_t>(bytes.size() / sizeof(uint64_t));
  }
  return CheckCommon(push.header, "push", keys);
}

absl::Status CheckRequestLimits(const InstallReplicaRequest& request) {
  if (request.job_id().size() > kMaxNameBytes || request.transfer_id().size() > kMaxNameBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the state transfer's job or transfer id is longer than the limit of ", kMaxNameBytes,
        " bytes (kMaxNameBytes)"));
  }
  if (request.total_bytes() > kMaxReplicaStateBytes) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the state transfer declares ", request.total_bytes(), " bytes, past the limit of ",
        kMaxReplicaStateBytes, " (kMaxReplicaStateBytes: protobuf parses at most 2 GiB)"));
  }
  return absl::OkStatus();
}

}  // namespace petrel

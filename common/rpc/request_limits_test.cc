#define CATCH_CONFIG_MAIN
#include "catch2/catch.hpp"
#include "common/rpc/request_limits.h"

namespace petrel {
namespace {

PullRequest PullWithSlices(int n) {
  PullRequest request;
  request.set_job_id("job-1");
  for (int i = 0; i < n; ++i) {
    Slice* slice = request.add_slices();
    slice->set_table("layer0/weights");
    slice->set_begin(i);
    slice->set_end(i + 1);
  }
  return request;
}

TEST_CASE("Requests at a limit pass; one past it is RESOURCE_EXHAUSTED naming it") {
  CHECK(CheckRequestLimits(PullWithSlices(kMaxSlicesPerRequest)).ok());
  absl::Status over = CheckRequestLimits(PullWithSlices(kMaxSlicesPerRequest + 1));
  CHECK(over.code() == absl::StatusCode::kResourceExhausted);
  CHECK(over.message().find("kMaxSlicesPerRequest") != absl::string_view::npos);

  PushRequest push;
  push.set_job_id("job-1");
  for (int i = 0; i < kMaxSlicesPerRequest; ++i) push.add_sparse()->set_table("weights");
  CHECK(CheckRequestLimits(push).ok());
  push.add_slices()->set_table("bias");  // dense and sparse slices count together
  CHECK(CheckRequestLimits(push).code() == absl::StatusCode::kResourceExhausted);

  PullRequest keys;
  keys.add_sparse()->set_keys(std::string(kMaxKeysPerRequest / 2 * 8, '\1'));
  keys.add_sparse()->set_keys(std::string(kMaxKeysPerRequest / 2 * 8, '\2'));
  CHECK(CheckRequestLimits(keys).ok());
  keys.mutable_sparse(1)->mutable_keys()->append(8, '\3');
  absl::Status too_many = CheckRequestLimits(keys);
  CHECK(too_many.code() == absl::StatusCode::kResourceExhausted);
  CHECK(too_many.message().find("kMaxKeysPerRequest") != absl::string_view::npos);

  PullRequest long_name;
  long_name.set_worker_id(std::string(kMaxNameBytes + 1, 'w'));
  CHECK(CheckRequestLimits(long_name).code() == absl::StatusCode::kResourceExhausted);
  PushRequest long_table;
  long_table.add_slices()->set_table(std::string(kMaxNameBytes + 1, 't'));
  CHECK(CheckRequestLimits(long_table).code() == absl::StatusCode::kResourceExhausted);

  InstallReplicaRequest chunk;
  chunk.set_transfer_id("t-1");
  chunk.set_total_bytes(kMaxReplicaStateBytes);
  CHECK(CheckRequestLimits(chunk).ok());
  chunk.set_total_bytes(kMaxReplicaStateBytes + 1);
  absl::Status too_big = CheckRequestLimits(chunk);
  CHECK(too_big.code() == absl::StatusCode::kResourceExhausted);
  CHECK(too_big.message().find("kMaxReplicaStateBytes") != absl::string_view::npos);
  chunk.set_total_bytes(1);
  chunk.set_transfer_id(std::string(kMaxNameBytes + 1, 'i'));
  CHECK(CheckRequestLimits(chunk).code() == absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace petrel

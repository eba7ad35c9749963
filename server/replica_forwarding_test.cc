// ParameterService as the head of a chain, driven through a fake next
// replica (server/fake_replica_client.h): a push is applied here, forwarded
// as the bytes it came in and acknowledged only once the next server has
// acknowledged it; a failed forward leaves it unacknowledged (the retry is
// not applied twice); a rebuilt replica gets the group's state in chunks.
#define CATCH_CONFIG_MAIN
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "proto/parameter.pb.h"
#include "server/fake_replica_client.h"
#include "server/parameter_service.h"
#include "server/replica_test_job.h"
#include "server/shard_store.h"

namespace petrel::server {
namespace {

constexpr char kReplicaAddress[] = "server-1:1";

// Chain [server-0, server-1]; `ready` of them hold the state.
JobAssignment Assignment(int ready) {
  ReplicaTestJob job;
  job.rows = 4;
  job.cols = 5;
  job.bias = 3;
  job.replica_address = kReplicaAddress;
  JobAssignment assignment = ReplicaTestAssignment(job);
  assignment.mutable_shard_map()->mutable_groups(0)->set_ready(ready);
  return assignment;
}

PushRequest BiasPush(int64_t clock, float gradient) {
  PushRequest push;
  push.set_job_id("job-1");
  push.set_worker_id("worker-0");
  push.set_clock(clock);
  push.set_shard_map_epoch(1);
  Slice* slice = push.add_slices();
  slice->set_table("b");
  slice->set_begin(0);
  slice->set_end(3);
  FloatsToBytes(std::vector<float>(3, gradient), push.add_gradients());
  return push;
}

std::vector<float> Bias(JobShards& shards) {
  PullRequest pull;
  pull.set_job_id("job-1");
  pull.set_observer(true);
  Slice* slice = pull.add_slices();
  slice->set_table("b");
  slice->set_begin(0);
  slice->set_end(3);
  PullResponse response;
  std::optional<absl::Status> status;
  shards.Pull(pull, &response, [&](absl::Status s) { status = s; });
  REQUIRE(status.has_value());
  REQUIRE(status->ok());
  const absl::Span<const float> values = BytesAsFloats(response.values(0));
  return {values.begin(), values.end()};
}

struct Primary {
  explicit Primary(int ready) : store("server-0") { store.Reconcile({Assignment(ready)}); }
  ~Primary() { store.CloseAll(absl::UnavailableError("test over")); }
  std::shared_ptr<JobShards> shards() { return *store.Find("job-1", 0); }
  // Pushes and returns the answer, if one came.
  std::optional<absl::Status> Push(const PushRequest& request) {
    std::optional<absl::Status> answer;
    service.Push(request, &response, [this](absl::Status s) { last = s; });
    answer = last;
    last.reset();
    return answer;
  }
  ShardStore store;
  FakeReplicaClient replicas;
  ParameterService service{&store, &replicas, Options()};
  PushResponse response;
  std::optional<absl::Status> last;

  static ParameterServiceOptions Options() {
    ParameterServiceOptions options;
    options.transfer.chunk_bytes = 64;  // the small test state in several chunks
    options.transfer.backoff = absl::ZeroDuration();
    return options;
  }
};

TEST_CASE("the primary forwards a push as it came and answers once the next replica has") {
  Primary primary(/*ready=*/2);
  const std::vector<float> before = Bias(*primary.shards());
  primary.replicas.HoldForwards();
  const PushRequest push = BiasPush(0, 1.0f);
  CHECK_FALSE(primary.Push(push).has_value());  // waits for the next replica
  CHECK(Bias(*primary.shards()) != before);     // applied here meanwhile
  const auto forwarded = primary.replicas.forwarded();
  REQUIRE(forwarded.size() == 1);
  CHECK(forwarded[0].address == kReplicaAddress);
  CHECK(forwarded[0].bytes == push.SerializeAsString());

  std::optional<absl::Status> acknowledged;
  primary.service.Push(BiasPush(1, 1.0f), &primary.response,
                       [&](absl::Status s) { acknowledged = s; });
  REQUIRE(primary.replicas.ReplyForward(absl::OkStatus()));  // the first push's answer
  REQUIRE(primary.replicas.ReplyForward(absl::OkStatus()));
  REQUIRE(acknowledged.has_value());
  CHECK(acknowledged->ok());
}

TEST_CASE("a push the next replica did not take is not acknowledged, and its retry is not "
          "applied twice") {
  Primary primary(/*ready=*/2);
  primary.replicas.AnswerForwardsWith(absl::DeadlineExceededError("replicating the push to "
                                                                  "server-1:1: too slow"));
  const std::optional<absl::Status> failed = primary.Push(BiasPush(0, 1.0f));
  REQUIRE(failed.has_value());
  // Whatever went wrong down the chain, the worker is told to retry.
  CHECK(absl::IsUnavailable(*failed));
  CHECK(absl::StrContains(failed->message(), "replicating the push to server-1:1"));
  const std::vector<float> applied = Bias(*primary.shards());

  primary.replicas.AnswerForwardsWith(absl::OkStatus());
  const std::optional<absl::Status> retried = primary.Push(BiasPush(0, 1.0f));
  REQUIRE(retried.has_value());
  CHECK(retried->ok());
  CHECK(Bias(*primary.shards()) == applied);          // not applied again
  CHECK(primary.replicas.forwarded().size() == 2);    // but forwarded again

  // A stale map down the chain is the caller's to fix: it stays as it is.
  primary.replicas.AnswerForwardsWith(absl::FailedPreconditionError("stale map"));
  const std::optional<absl::Status> stale = primary.Push(BiasPush(1, 1.0f));
  REQUIRE(stale.has_value());
  CHECK(absl::IsFailedPrecondition(*stale));
}

TEST_CASE("a refused push goes nowhere; the chain's tail forwards nothing") {
  Primary primary(/*ready=*/2);
  PushRequest bad = BiasPush(0, 1.0f);
  bad.mutable_slices(0)->set_end(2);  // 3 floats for 2
  const std::optional<absl::Status> refused = primary.Push(bad);
  REQUIRE(refused.has_value());
  CHECK(absl::IsInvalidArgument(*refused));
  CHECK(primary.replicas.forwarded().empty());

  Primary alone(/*ready=*/1);  // server-1 not rebuilt yet: pushes stop here
  const std::optional<absl::Status> taken = alone.Push(BiasPush(0, 1.0f));
  REQUIRE(taken.has_value());
  CHECK(taken->ok());
  CHECK(alone.replicas.forwarded().empty());
}

TEST_CASE("a push-pull goes down the chain with pull_next turned off") {
  Primary primary(/*ready=*/2);
  PushRequest push = BiasPush(0, 1.0f);
  push.set_pull_next(true);
  const std::optional<absl::Status> answered = primary.Push(push);
  REQUIRE(answered.has_value());
  CHECK(answered->ok());
  REQUIRE(primary.response.values_size() == 1);  // clock 1's values came back
  const auto forwarded = primary.replicas.forwarded();
  REQUIRE(forwarded.size() == 1);
  PushRequest sent;
  REQUIRE(sent.ParseFromString(forwarded[0].bytes));
  CHECK_FALSE(sent.pull_next());
  CHECK(sent.clock() == 0);
}

TEST_CASE("the state goes to a replica being rebuilt in chunks; then pushes follow it") {
  Primary primary(/*ready=*/1);
  REQUIRE(primary.Push(BiasPush(0, 0.5f)).value().ok());
  // The replica: server-1 of the same chain, awaiting the state.
  ShardStore replica_store("server-1");
  replica_store.Reconcile({Assignment(/*ready=*/1)});
  FakeReplicaClient unused;
  ParameterService replica(&replica_store, &unused);
  int calls = 0;
  primary.replicas.set_install_handler(
      [&](const std::string& address,
          const InstallReplicaRequest& chunk) -> absl::StatusOr<InstallReplicaResponse> {
        CHECK(address == kReplicaAddress);
        // The second call is lost on the way: the sender asks and resumes.
        if (++calls == 2) return absl::UnavailableError("connection reset");
        InstallReplicaResponse response;
        absl::Status status = replica.InstallReplica(chunk, &response);
        if (!status.ok()) return status;
        return response;
      });
  REQUIRE(replica_store.TransfersDue().empty());
  REQUIRE(primary.store.TransfersDue().size() == 1);
  primary.service.RunDueTransfers();

  const auto chunks = primary.replicas.chunks();
  CHECK(chunks.size() > 3);  // several chunks, a failed one and a question among them
  CHECK(primary.store.TransfersDue().empty());
  std::shared_ptr<JobShards> rebuilt = *replica_store.Find("job-1", 0);
  CHECK(Bias(*rebuilt) == Bias(*primary.shards()));

  // From now on pushes go to the rebuilt replica too.
  REQUIRE(primary.Push(BiasPush(1, 0.5f)).value().ok());
  CHECK(primary.replicas.forwarded().size() == 1);
  replica_store.CloseAll(absl::UnavailableError("test over"));
}

}  // namespace
}  // namespace petrel::server

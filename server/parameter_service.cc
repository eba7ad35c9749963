#include "server/parameter_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_status.h"
#include "common/rpc.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace petrel::server {
namespace {

// How long a push may wait for the rest of its chain.
constexpr absl::Duration kForwardTimeout = absl::Seconds(30);

}  // namespace

void ParameterService::Pull(const PullRequest& request, PullResponse* response, Done done) {
  auto shards = store_->Find(request.job_id(), request.shard_group());
  if (!shards.ok()) return done(shards.status());
  (*shards)->Pull(request, response, std::move(done));
}

void ParameterService::Push(const PushRequest& request, PushResponse*, Done done) {
  auto shards = store_->Find(request.job_id(), request.shard_group());
  if (!shards.ok()) return done(shards.status());
  std::string next;
  absl::Status applied = (*shards)->Push(request, &next);
  if (!applied.ok() || next.empty()) return done(applied);

  struct Forward {
    grpc::ClientContext context;
    PushRequest request;
    PushResponse response;
  };
  auto forward = std::make_shared<Forward>();
  forward->request = request;
  forward->context.set_deadline(absl::ToChronoTime(absl::Now() + kForwardTimeout));
  StubFor(next)->async()->Push(
      &forward->context, &forward->request, &forward->response,
      [forward, next, done = std::move(done)](grpc::Status status) {
        if (status.ok()) return done(absl::OkStatus());
        absl::Status failed = FromGrpcStatus(status, absl::StrCat("replicating the push to ", next));
        // The caller retries whatever went wrong down the chain; a stale map
        // there means this server's map is stale too.
        if (!absl::IsFailedPrecondition(failed) && !absl::IsInvalidArgument(failed)) {
          failed = absl::UnavailableError(failed.message());
        }
        done(failed);
      });
}

absl::Status ParameterService::InstallReplica(const InstallReplicaRequest& request) {
  PETREL_ASSIGN_OR_RETURN(std::shared_ptr<JobShards> shards,
                          store_->Find(request.job_id(), request.shard_group()));
  ReplicaState state;
  if (!state.ParseFromString(request.state())) {
    return absl::InvalidArgumentError("InstallReplica: the state does not parse");
  }
  return shards->Install(state);
}

absl::Status ParameterService::CloseRound(const CloseRoundRequest& request) {
  PETREL_ASSIGN_OR_RETURN(std::shared_ptr<JobShards> shards,
                          store_->Find(request.job_id(), request.shard_group()));
  return shards->CloseRound(request);
}

absl::Status ParameterService::ListSparseRows(const ListSparseRowsRequest& request,
                                              ListSparseRowsResponse* response) {
  PETREL_ASSIGN_OR_RETURN(std::shared_ptr<JobShards> shards,
                          store_->Find(request.job_id(), request.shard_group()));
  return shards->ListSparseRows(request, response);
}

void ParameterService::RunDueTransfers() {
  for (const std::shared_ptr<JobShards>& shards : store_->TransfersDue()) {
    absl::Status sent = shards->Transfer([&](const std::string& address, const ReplicaState& state) {
      InstallReplicaRequest request;
      request.set_job_id(shards->job_id());
      request.set_shard_group(shards->group());
      state.SerializeToString(request.mutable_state());
      InstallReplicaResponse response;
      grpc::ClientContext context;
      context.set_deadline(absl::ToChronoTime(absl::Now() + kForwardTimeout));
      return FromGrpcStatus(StubFor(address)->InstallReplica(&context, request, &response),
                            absl::StrCat("InstallReplica to ", address));
    });
    if (!sent.ok()) {
      spdlog::warn("job {} group {}: rebuilding a replica failed ({}); will retry",
                   shards->job_id(), shards->group(), sent.ToString());
    }
  }
}

Parameter::Stub* ParameterService::StubFor(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<Parameter::Stub>& stub = stubs_[address];
  if (stub == nullptr) stub = Parameter::NewStub(MakeChannel(address));
  return stub.get();
}

}  // namespace petrel::server

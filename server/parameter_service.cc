#include "server/parameter_service.h"

#include "absl/strings/str_cat.h"
#include "common/wire/push_wire.h"
#include "common/rpc/request_limits.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace petrel::server {

void ParameterService::Pull(const PullRequest& request, PullResponse* response, Done done) {
  auto shards = store_->Find(request.job_id(), request.shard_group());
  if (!shards.ok()) return done(shards.status());
  (*shards)->Pull(request, response, std::move(done));
}

void ParameterService::Push(const PushRequest& request, PushResponse* response, Done done) {
  const std::string bytes = request.SerializeAsString();
  grpc::Slice slice(bytes);
  const grpc::ByteBuffer wire(&slice, 1);
  absl::StatusOr<PushView> push = DecodePush(wire);
  if (!push.ok()) return done(push.status());
  Push(std::move(*push), wire, response, std::move(done));
}

void ParameterService::Push(PushView push, const grpc::ByteBuffer& wire, PushResponse* response,
                            Done done) {
  auto shards = store_->Find(push.header.job_id(), push.header.shard_group());
  if (!shards.ok()) return done(shards.status());
  const bool push_pull = push.header.pull_next();
  if (push_pull) {
    if (absl::Status valid = CheckPushPull(push.header); !valid.ok()) return done(valid);
    done = AnswerNextPull(*shards, push.header, response, std::move(done));
  }
  std::string next;
  absl::Status applied = (*shards)->Push(std::move(push), &next);
  if (!applied.ok() || next.empty()) return done(applied);

  replicas_->ForwardPush(next, ForwardedBytes(wire, push_pull),
                         [done = std::move(done)](absl::Status failed) {
                           if (failed.ok()) return done(failed);
                           // The caller retries whatever went wrong down the
                           // chain; a stale map there means this server's map
                           // is stale too.
                           if (!absl::IsFailedPrecondition(failed) &&
                               !absl::IsInvalidArgument(failed)) {
                             failed = absl::UnavailableError(failed.message());
                           }
                           done(failed);
                         });
}

grpc::ByteBuffer ParameterService::ForwardedBytes(const grpc::ByteBuffer& wire, bool push_pull) {
  if (!push_pull) return wire;  // shares the received slices
  std::vector<grpc::Slice> slices;
  (void)wire.Dump(&slices);  // references, not copies
  // Field 15 (pull_next), varint 0.
  static constexpr char kPullNextOff[] = {static_cast<char>(15 << 3), 0};
  slices.emplace_back(kPullNextOff, sizeof(kPullNextOff));
  return grpc::ByteBuffer(slices.data(), slices.size());
}

absl::Status ParameterService::CheckPushPull(const PushRequest& request) {
  if (request.leave()) {
    return absl::InvalidArgumentError(
        "a push that leaves the clock set cannot ask for the next clock's values (pull_next)");
  }
  if (request.encoding() == FIXED64) {
    return absl::InvalidArgumentError(
        "a federated round upload cannot ask for the next clock's values (pull_next)");
  }
  return absl::OkStatus();
}

ParameterService::Done ParameterService::AnswerNextPull(std::shared_ptr<JobShards> shards,
                                                        const PushRequest& push,
                                                        PushResponse* response, Done done) {
  // The pull a worker would make next: its clock + 1, the same dense slices
  // (the sparse rows it needs next are not known yet).
  auto pull = std::make_shared<PullRequest>();
  pull->set_job_id(push.job_id());
  pull->set_worker_id(push.worker_id());
  pull->set_clock(push.clock() + 1);
  pull->set_shard_map_epoch(push.shard_map_epoch());
  pull->set_shard_group(push.shard_group());
  *pull->mutable_slices() = push.slices();
  return [shards = std::move(shards), pull, response, done = std::move(done)](absl::Status pushed) {
    // An error after the push was applied here is reported as is: the
    // worker's retry is recognised as one and gets the values then.
    if (!pushed.ok()) return done(pushed);
    auto answer = std::make_shared<PullResponse>();
    shards->PullAfterPush(*pull, answer.get(), [pull, answer, response, done](absl::Status status) {
      if (status.ok()) {
        response->mutable_values()->Swap(answer->mutable_values());
        response->mutable_sparse_rows()->Swap(answer->mutable_sparse_rows());
      }
      done(status);
    });
  };
}

absl::Status ParameterService::InstallReplica(const InstallReplicaRequest& request,
                                              InstallReplicaResponse* response) {
  PETREL_ASSIGN_OR_RETURN(std::shared_ptr<JobShards> shards,
                          store_->Find(request.job_id(), request.shard_group()));
  PETREL_ASSIGN_OR_RETURN(*response, shards->InstallChunk(request));
  return absl::OkStatus();
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
    // Runs under the group's lock (JobShards::Transfer): every chunk, and
    // every resumed one, comes from this one snapshot.
    absl::Status sent = shards->Transfer([&](const std::string& address, const ReplicaState& state) {
      const size_t size = state.ByteSizeLong();
      if (size > static_cast<size_t>(kMaxReplicaStateBytes)) {
        return absl::ResourceExhaustedError(absl::StrCat(
            "the group's state is ", size, " bytes, past the ", kMaxReplicaStateBytes,
            " a replica state may have (kMaxReplicaStateBytes)"));
      }
      std::string bytes;
      if (!state.SerializeToString(&bytes)) {
        return absl::InternalError(absl::StrCat("the group's state (", size, " bytes) does not serialize"));
      }
      InstallReplicaRequest header;
      header.set_job_id(shards->job_id());
      header.set_shard_group(shards->group());
      const absl::Time start = absl::Now();
      auto stats = SendReplicaState(
          header, NewTransferId(), bytes,
          [&](const InstallReplicaRequest& chunk) {
            return replicas_->InstallReplica(address, chunk);
          },
          options_.transfer);
      if (!stats.ok()) return stats.status();
      spdlog::info("job {} group {}: state of {} bytes sent to {} in {} chunks ({} failed calls "
                   "resumed from), {:.0f} ms",
                   shards->job_id(), shards->group(), stats->bytes, address, stats->chunks,
                   stats->failures, absl::ToDoubleMilliseconds(absl::Now() - start));
      return absl::OkStatus();
    });
    if (!sent.ok()) {
      spdlog::warn("job {} group {}: rebuilding a replica failed ({}); will retry",
                   shards->job_id(), shards->group(), sent.ToString());
    }
  }
}

}  // namespace petrel::server

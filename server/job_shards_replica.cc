// Rebuilding a replica: the up-to-date server of a chain sends the group's
// whole state to the one that joined (Transfer, chunked by server/
// replica_transfer.h), and the joiner assembles (ReplicationChain) and
// installs it (InstallChunk): the tables, the gate's clocks, the held pushes
// and the federated rounds' uploads.
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/job_shards.h"
#include "spdlog/spdlog.h"

namespace petrel::server {

std::string JobShards::TransferDue() const {
  absl::ReaderMutexLock lock(&mu_);
  const int due = chain_.DueTransfer();
  return due < 0 ? "" : chain_.server(due);
}

absl::Status JobShards::Transfer(
    const std::function<absl::Status(const std::string&, const ReplicaState&)>& send) {
  // Holding the lock throughout: no push or pull of the group slips in
  // between the state taken and the state installed.
  absl::MutexLock lock(&mu_);
  const int due = chain_.DueTransfer();
  if (due < 0) return absl::OkStatus();  // the chain changed meanwhile
  const std::string target = chain_.server(due);
  const absl::Time start = absl::Now();
  ReplicaState state;
  *state.mutable_shards() = SnapshotLocked(0);
  buffer_.ExportTo(&state);
  if (rounds_ != nullptr) *state.mutable_rounds() = rounds_->Export();
  PETREL_RETURN_IF_ERROR(send(chain_.address(due), state));
  chain_.StateSent(target);
  spdlog::info("job {} group {}: state sent to {} ({} bytes, {:.0f} ms); pushes now go to it too",
               job_id_, group_, target, state.ByteSizeLong(),
               absl::ToDoubleMilliseconds(absl::Now() - start));
  return absl::OkStatus();
}

absl::Status JobShards::Install(const ReplicaState& state) {
  absl::MutexLock lock(&mu_);
  return InstallLocked(state);
}

absl::Status JobShards::InstallLocked(const ReplicaState& state) {
  if (!chain_.awaiting_state()) {
    return absl::FailedPreconditionError(absl::StrCat(
        server_id_, " already holds group ", group_, " of job ", job_id_));
  }
  // Everything that can be refused is checked before anything changes: the
  // held pushes parse and name workers of the job, the rounds' uploads and
  // the checkpoint fit these shards (rounds_ is put back if the checkpoint
  // does not).
  const auto& clocks = state.shards().worker_clocks();
  // A rank's worker as it will be once the state's clocks are taken.
  auto worker_at = [&](int rank) -> const std::string& {
    return rank < clocks.size() ? clocks[rank].worker_id() : gate_.worker_id(rank);
  };
  std::vector<std::pair<int, PushView>> pushes;
  for (const std::string& bytes : state.held_pushes()) {
    PushRequest push;
    if (!push.ParseFromString(bytes)) return absl::InvalidArgumentError("a held push does not parse");
    int rank = 0;
    while (rank < gate_.num_workers() && worker_at(rank) != push.worker_id()) ++rank;
    if (rank == gate_.num_workers()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a held push is from \"", push.worker_id(), "\", not a worker of this job"));
    }
    pushes.emplace_back(rank, OwnedView(std::move(push)));
  }
  if (rounds_ != nullptr) {
    const RoundUploads before = rounds_->Export();
    PETREL_RETURN_IF_ERROR(rounds_->Import(state.rounds()));
    if (absl::Status restored = RestoreLocked(state.shards()); !restored.ok()) {
      (void)rounds_->Import(before);
      return restored;
    }
  } else {
    PETREL_RETURN_IF_ERROR(RestoreLocked(state.shards()));
  }
  for (int rank = 0; rank < clocks.size() && rank < gate_.num_workers(); ++rank) {
    gate_.SetWorker(rank, clocks[rank].worker_id(), clocks[rank].clock());
    if (clocks[rank].left()) gate_.Leave(rank);
  }
  buffer_.ImportHeld(std::move(pushes), state);
  chain_.StateInstalled();
  spdlog::info("job {} group {}: state installed; this server holds the group again", job_id_,
               group_);
  return absl::OkStatus();
}

absl::StatusOr<InstallReplicaResponse> JobShards::InstallChunk(const InstallReplicaRequest& chunk) {
  absl::MutexLock lock(&mu_);
  PETREL_ASSIGN_OR_RETURN(ReplicationChain::Chunk taken, chain_.TakeChunk(chunk));
  if (!taken.state.has_value()) return taken.response;
  if (absl::Status installed = InstallLocked(*taken.state); !installed.ok()) {
    return absl::Status(installed.code(),
                        absl::StrCat("state transfer ", taken.transfer, ": ", installed.message(),
                                     "; the group still awaits its state"));
  }
  chain_.TransferInstalled(taken);
  taken.response.set_installed(true);
  return taken.response;
}

}  // namespace petrel::server

// JobShards' part in rebuilding a replica: the up-to-date server of a chain
// sends the group's whole state to the one that joined (Transfer, chunked by
// server/replica_transfer.h), and the joiner assembles and installs it
// (InstallChunk).
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/job_shards.h"
#include "spdlog/spdlog.h"

namespace petrel::server {

int JobShards::DueTransfer() const {
  if (awaiting_install_ || PositionInChain() != ready_ - 1 ||
      static_cast<int>(chain_.size()) <= ready_ || installed_.count(chain_[ready_])) {
    return -1;
  }
  return ready_;
}

std::string JobShards::TransferDue() const {
  absl::ReaderMutexLock lock(&mu_);
  const int due = DueTransfer();
  return due < 0 ? "" : chain_[due];
}

absl::Status JobShards::Transfer(
    const std::function<absl::Status(const std::string&, const ReplicaState&)>& send) {
  // Holding the lock throughout: no push or pull of the group slips in
  // between the state taken and the state installed.
  absl::MutexLock lock(&mu_);
  const int due = DueTransfer();
  if (due < 0) return absl::OkStatus();  // the chain changed meanwhile
  const std::string target = chain_[due];
  const absl::Time start = absl::Now();
  ReplicaState state;
  *state.mutable_shards() = SnapshotLocked(0);
  // Held pushes travel as whole requests (a copy, once per rebuild).
  for (const auto& [clock, by_rank] : held_) {
    for (const auto& parts : by_rank) {
      for (const PushView& part : parts) ToRequest(part).SerializeToString(state.add_held_pushes());
    }
  }
  for (const PushView& push : deferred_) ToRequest(push).SerializeToString(state.add_held_pushes());
  state.set_next_cut(next_cut_);
  for (PendingParts& pending : parts_.Export()) *state.add_pending() = std::move(pending);
  if (rounds_ != nullptr) *state.mutable_rounds() = rounds_->Export();
  PETREL_RETURN_IF_ERROR(send(chain_addresses_[due], state));
  installed_.insert(target);
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
  if (!awaiting_install_) {
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
  held_.clear();
  deferred_.clear();
  for (auto& [rank, push] : pushes) {
    if (!gate_.bsp()) {
      deferred_.push_back(std::move(push));
      continue;
    }
    auto& by_rank = held_[push.header.clock()];
    by_rank.resize(gate_.num_workers());
    by_rank[rank].push_back(std::move(push));
  }
  next_cut_ = state.next_cut();
  for (const PendingParts& pending : state.pending()) parts_.Import(pending);
  awaiting_install_ = false;
  spdlog::info("job {} group {}: state installed; this server holds the group again", job_id_,
               group_);
  return absl::OkStatus();
}

absl::StatusOr<InstallReplicaResponse> JobShards::InstallChunk(const InstallReplicaRequest& chunk) {
  absl::MutexLock lock(&mu_);
  InstallReplicaResponse response;
  if (!awaiting_install_) {
    if (!chunk.transfer_id().empty() && chunk.transfer_id() == installed_transfer_) {
      response.set_held_bytes(installed_bytes_);  // the sender lost the answer to its last chunk
      response.set_installed(true);
      return response;
    }
    // Installed, but the map does not count this server as holding the
    // group yet: the sender never learnt it (its retries ran out after the
    // last chunk landed), or the sender died and the next one up the chain
    // starts over. Its snapshot holds everything this one does (every push
    // passed it first), so a new transfer from byte 0 replaces the state;
    // refusing it would leave the replica unready for good.
    const bool replaces = PositionInChain() >= ready_ && chunk.offset() == 0 &&
                          !chunk.chunk().empty() && !chunk.transfer_id().empty();
    if (!replaces) {
      return absl::FailedPreconditionError(absl::StrCat(
          server_id_, " already holds group ", group_, " of job ", job_id_,
          ": it awaits no state transfer (refused chunk at byte ", chunk.offset(),
          " of transfer ", chunk.transfer_id(), ")"));
    }
  }
  const std::string was = incoming_.transfer_id();
  PETREL_ASSIGN_OR_RETURN(const int64_t held, incoming_.Add(chunk));
  if (!awaiting_install_) {  // a good first chunk of a replacing transfer
    spdlog::warn("job {} group {}: state transfer {} replaces {}, which its sender did not "
                 "confirm", job_id_, group_, chunk.transfer_id(), installed_transfer_);
    awaiting_install_ = true;
  }
  response.set_held_bytes(held);
  if (incoming_.transfer_id() != was && !incoming_.transfer_id().empty()) {
    if (!was.empty()) {
      spdlog::warn("job {} group {}: state transfer {} abandoned for {}", job_id_, group_, was,
                   incoming_.transfer_id());
    }
    spdlog::info("job {} group {}: receiving state transfer {} ({} bytes)", job_id_, group_,
                 incoming_.transfer_id(), incoming_.total());
  }
  if (!incoming_.complete()) return response;
  const std::string transfer = incoming_.transfer_id();
  const int64_t total = incoming_.total();
  ReplicaState state;
  {
    const std::string bytes = incoming_.Take();
    if (!state.ParseFromString(bytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "state transfer ", transfer, ": the ", total,
          " bytes match their checksum but are not a ReplicaState; the group still awaits its state"));
    }
  }
  if (absl::Status installed = InstallLocked(state); !installed.ok()) {
    return absl::Status(installed.code(),
                        absl::StrCat("state transfer ", transfer, ": ", installed.message(),
                                     "; the group still awaits its state"));
  }
  installed_transfer_ = transfer;
  installed_bytes_ = total;
  response.set_installed(true);
  return response;
}

}  // namespace petrel::server

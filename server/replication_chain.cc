#include "server/replication_chain.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/jobspec/partition.h"
#include "common/rpc/shard_map_epoch.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"

namespace petrel::server {

void ReplicationChain::Init(const ShardMap& map) {
  epoch_ = map.epoch();
  SetChain(map);
  awaiting_ = Position() >= ready_;
}

bool ReplicationChain::Follow(const ShardMap& map) {
  if (map.epoch() <= epoch_) return false;
  epoch_ = map.epoch();
  SetChain(map);
  spdlog::info("job {} group {}: shard map epoch {}, chain [{}], {} up to date", job_id_, group_,
               epoch_, absl::StrJoin(chain_, " -> "), ready_);
  return true;
}

void ReplicationChain::SetChain(const ShardMap& map) {
  if (group_ >= map.groups_size()) return;
  const ShardGroup& chain = map.groups(group_);
  const bool first = chain_.empty();  // from Init: nobody was promoted
  const bool was_primary = !first && chain_[0] == server_id_;
  chain_.assign(chain.servers().begin(), chain.servers().end());
  chain_addresses_.assign(chain.addresses().begin(), chain.addresses().end());
  ready_ = ReadyServers(chain);
  if (first || was_primary || chain_.empty() || chain_[0] != server_id_) return;
  if (promoted_ == absl::InfinitePast()) promoted_ = absl::Now();
}

absl::Status ReplicationChain::CheckEpoch(int64_t epoch) const {
  if (epoch == 0 || epoch == epoch_) return absl::OkStatus();
  if (epoch < epoch_) {
    return StaleShardMapError(absl::StrCat("job ", job_id_,
                                           ": the request was made under shard map epoch ", epoch,
                                           "; ", server_id_, " has epoch ", epoch_));
  }
  return absl::UnavailableError(absl::StrCat("job ", job_id_, ": ", server_id_,
                                             " has not yet seen shard map epoch ", epoch,
                                             " (it has ", epoch_, "); retry shortly"));
}

int ReplicationChain::Position() const {
  for (size_t k = 0; k < chain_.size(); ++k) {
    if (chain_[k] == server_id_) return static_cast<int>(k);
  }
  return -1;
}

std::string ReplicationChain::NextForPush() const {
  const int position = Position();
  if (position < 0 || position + 1 >= static_cast<int>(chain_.size())) return "";
  const std::string& next = chain_[position + 1];
  // A server being rebuilt gets pushes once it holds the state they update.
  if (position + 1 >= ready_ && sent_.count(next) == 0) return "";
  return chain_addresses_[position + 1];
}

int ReplicationChain::DueTransfer() const {
  if (awaiting_ || Position() != ready_ - 1 || static_cast<int>(chain_.size()) <= ready_ ||
      sent_.count(chain_[ready_])) {
    return -1;
  }
  return ready_;
}

absl::Status ReplicationChain::RebuildingError() const {
  return absl::UnavailableError(absl::StrCat(server_id_, " is being rebuilt as a replica of group ",
                                             group_, " of job ", job_id_));
}

absl::StatusOr<ReplicationChain::Chunk> ReplicationChain::TakeChunk(
    const InstallReplicaRequest& chunk) {
  Chunk taken;
  if (!awaiting_) {
    if (!chunk.transfer_id().empty() && chunk.transfer_id() == installed_transfer_) {
      taken.response.set_held_bytes(installed_bytes_);  // the sender lost the answer to its last chunk
      taken.response.set_installed(true);
      return taken;
    }
    // Installed, but the map does not count this server as holding the
    // group yet: the sender never learnt it (its retries ran out after the
    // last chunk landed), or the sender died and the next one up the chain
    // starts over. Its snapshot holds everything this one does (every push
    // passed it first), so a new transfer from byte 0 replaces the state;
    // refusing it would leave the replica unready for good.
    const bool replaces = Position() >= ready_ && chunk.offset() == 0 && !chunk.chunk().empty() &&
                          !chunk.transfer_id().empty();
    if (!replaces) {
      return absl::FailedPreconditionError(absl::StrCat(
          server_id_, " already holds group ", group_, " of job ", job_id_,
          ": it awaits no state transfer (refused chunk at byte ", chunk.offset(),
          " of transfer ", chunk.transfer_id(), ")"));
    }
  }
  const std::string was = incoming_.transfer_id();
  PETREL_ASSIGN_OR_RETURN(const int64_t held, incoming_.Add(chunk));
  if (!awaiting_) {  // a good first chunk of a replacing transfer
    spdlog::warn("job {} group {}: state transfer {} replaces {}, which its sender did not "
                 "confirm", job_id_, group_, chunk.transfer_id(), installed_transfer_);
    awaiting_ = true;
  }
  taken.response.set_held_bytes(held);
  if (incoming_.transfer_id() != was && !incoming_.transfer_id().empty()) {
    if (!was.empty()) {
      spdlog::warn("job {} group {}: state transfer {} abandoned for {}", job_id_, group_, was,
                   incoming_.transfer_id());
    }
    spdlog::info("job {} group {}: receiving state transfer {} ({} bytes)", job_id_, group_,
                 incoming_.transfer_id(), incoming_.total());
  }
  if (!incoming_.complete()) return taken;
  taken.transfer = incoming_.transfer_id();
  taken.total = incoming_.total();
  ReplicaState& state = taken.state.emplace();
  {
    const std::string bytes = incoming_.Take();
    if (!state.ParseFromString(bytes)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "state transfer ", taken.transfer, ": the ", taken.total,
          " bytes match their checksum but are not a ReplicaState; the group still awaits its state"));
    }
  }
  return taken;
}

void ReplicationChain::TransferInstalled(const Chunk& chunk) {
  installed_transfer_ = chunk.transfer;
  installed_bytes_ = chunk.total;
}

void ReplicationChain::PushTaken() {
  if (promoted_ == absl::InfinitePast() || first_push_as_primary_ != absl::InfinitePast()) return;
  first_push_as_primary_ = absl::Now();
  spdlog::info("job {} group {}: first push taken as the new primary, {:.0f} ms after the "
               "promotion reached this server",
               job_id_, group_, absl::ToDoubleMilliseconds(first_push_as_primary_ - promoted_));
}

}  // namespace petrel::server

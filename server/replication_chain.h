// One shard group's replication chain as one of its servers sees it: the
// chain's servers and addresses under the shard map's epoch, how many of
// them hold the state, and the bookkeeping of rebuilding a replica: whom
// this server has sent the state to, whether it still awaits its own, and
// the chunks of the transfer coming in (server/replica_transfer.h).
//
//   joined (awaiting) --chunks, checksum ok, installed--> holds the state
//   holds the state --a new transfer from byte 0, while the map does not
//                     count it yet--> awaiting (the sender never learnt)
//
// Pushes go to the next server once it holds the state: it is one of the
// `ready` servers at the head of the chain, or this server sent it the state.
//
// Not thread-safe: JobShards serialises access under its mutex (the const
// calls may run under a shared lock).
#ifndef PETREL_SERVER_REPLICATION_CHAIN_H_
#define PETREL_SERVER_REPLICATION_CHAIN_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/checkpoint.pb.h"
#include "proto/coordinator.pb.h"
#include "proto/parameter.pb.h"
#include "server/replica_transfer.h"

namespace petrel::server {

class ReplicationChain {
 public:
  ReplicationChain(std::string job_id, std::string server_id, int group)
      : job_id_(std::move(job_id)), server_id_(std::move(server_id)), group_(group) {}

  // The chain of the map the group was built from. A server the map adds
  // after the job started (not among the ready ones) awaits the state.
  void Init(const ShardMap& map);
  // Takes a newer map's epoch and chain (true); an older or the same map
  // changes nothing (false). A backup that now heads the chain was promoted.
  bool Follow(const ShardMap& map);

  int64_t epoch() const { return epoch_; }
  // A request made under another shard map than this server's: an older
  // one is refused (the caller refreshes its map), a newer one is retried
  // (this server has not heard of it yet). 0 skips the check.
  absl::Status CheckEpoch(int64_t epoch) const;

  const std::vector<std::string>& servers() const { return chain_; }
  int ready() const { return ready_; }
  bool primary() const { return !chain_.empty() && chain_[0] == server_id_; }
  int Position() const;  // in the chain, or -1
  // The address of the next server of the chain, where it holds the state
  // (a push goes on to it), or "".
  std::string NextForPush() const;

  // The chain index of the server this one owes the state to, or -1: this
  // server is the last that holds it and has not sent it to the next yet.
  int DueTransfer() const;
  const std::string& server(int index) const { return chain_[index]; }
  const std::string& address(int index) const { return chain_addresses_[index]; }
  // `server` received the state from this one: pushes go to it from now on.
  void StateSent(const std::string& server) { sent_.insert(server); }
  const std::set<std::string>& sent() const { return sent_; }

  bool awaiting_state() const { return awaiting_; }
  // UNAVAILABLE: this server is being rebuilt and serves nothing yet.
  absl::Status RebuildingError() const;
  // The state is installed: this server holds the group again.
  void StateInstalled() { awaiting_ = false; }

  // A chunk of a state transfer taken: the answer for the sender, and once
  // the last chunk is in, the state (checksum checked) for the caller to
  // install, then confirm with TransferInstalled.
  struct Chunk {
    InstallReplicaResponse response;
    std::optional<ReplicaState> state;
    std::string transfer;
    int64_t total = 0;
  };
  // Refuses (FAILED_PRECONDITION) a chunk when this server awaits no state,
  // except a repeat of the transfer just installed (answered installed) and
  // the first chunk of a new transfer while the map does not count this
  // server as holding the group (it replaces the state).
  absl::StatusOr<Chunk> TakeChunk(const InstallReplicaRequest& chunk);
  void TransferInstalled(const Chunk& chunk);

  // Failover timing, for the logs and tools/bench_failover: when this
  // server was promoted, and when it acknowledged its first push since.
  void PushTaken();
  absl::Time promoted() const { return promoted_; }
  absl::Time first_push_as_primary() const { return first_push_as_primary_; }

 private:
  void SetChain(const ShardMap& map);

  const std::string job_id_;
  const std::string server_id_;
  const int group_;
  int64_t epoch_ = 0;
  std::vector<std::string> chain_;  // server ids
  std::vector<std::string> chain_addresses_;
  int ready_ = 1;  // the chain's servers that hold the state
  // Servers after this one that received the state from it.
  std::set<std::string> sent_;
  // This server joined the chain and has not received the state yet.
  bool awaiting_ = false;
  // The chunks of the state transfer in progress, and the transfer (id,
  // bytes) last installed, for a sender that lost its answer.
  ReplicaAssembler incoming_;
  std::string installed_transfer_;
  int64_t installed_bytes_ = 0;
  absl::Time promoted_ = absl::InfinitePast();
  absl::Time first_push_as_primary_ = absl::InfinitePast();
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_REPLICATION_CHAIN_H_

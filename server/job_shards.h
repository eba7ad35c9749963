// The shards of one shard group of one job, as one server of the group's
// chain holds them. A facade over its parts, which it holds under one lock:
// the tables (server/table_shards.h: ranges, sparse shards, optimizers),
// the staleness gate and the pulls waiting on it, the pushes not applied
// yet (server/clock_buffer.h), the replication chain (server/
// replication_chain.h) and, for federated jobs, the rounds (server/
// federated_rounds.h). Every server of the chain holds the same pushes (the
// primary forwards each to the next server before acknowledging it), so any
// of them can take over as primary. Pull and Push check the whole request
// before touching anything, so a bad request changes no state.
//
// Under BSP (staleness 0) a clock's pushes are held until every worker still
// in the clock set has pushed that clock, then summed in rank order and
// applied once: the result does not depend on arrival order. Otherwise each
// push is applied as it arrives.
#ifndef PETREL_SERVER_JOB_SHARDS_H_
#define PETREL_SERVER_JOB_SHARDS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/wire/push_view.h"
#include "nlohmann/json.hpp"
#include "proto/checkpoint.pb.h"
#include "proto/coordinator.pb.h"
#include "proto/parameter.pb.h"
#include "checkpoint/checkpoint_writer.h"
#include "server/clock_buffer.h"
#include "server/federated_rounds.h"
#include "server/replication_chain.h"
#include "server/staleness_gate.h"
#include "server/table_shards.h"

namespace petrel::server {

class JobShards {
 public:
  using Done = std::function<void(absl::Status)>;

  // Builds and initialises the ranges and sparse shards of group `group` of
  // `assignment`, as `server_id` (a server of the group's chain) holds them.
  static absl::StatusOr<std::unique_ptr<JobShards>> Create(const JobAssignment& assignment,
                                                           const std::string& server_id,
                                                           int group);
  ~JobShards();  // fails the pulls still waiting; finishes checkpoint writes

  const std::string& job_id() const { return job_id_; }
  int group() const { return group_; }
  JobState state() const;
  // A job that FAILED or was CANCELLED fails its waiting pulls.
  void set_state(JobState state);
  // Follows the coordinator's latest word on the job: its state, the shard
  // map's epoch and this group's chain, and its workers (one that departed
  // leaves the clock set; a replacement joins it).
  void Update(const JobAssignment& assignment);
  void set_on_newer_epoch(std::function<void()> callback) { on_newer_epoch_ = std::move(callback); }

  // Rebuilding a replica (server/job_shards_replica.cc). The chain's last
  // up-to-date server sends its whole state to the server after it: pushes
  // and pulls of the group wait while the state is taken and sent (`send`
  // makes the calls: ParameterService, through its ReplicaClient), and
  // from then on pushes are forwarded to the new server too. TransferDue:
  // the id of the server due a transfer from this one, or "" when none is.
  std::string TransferDue() const;
  absl::Status Transfer(const std::function<absl::Status(const std::string& address,
                                                         const ReplicaState& state)>& send);
  // The joining server's side: takes the state (its shards refuse calls
  // until then). A state that does not fit these shards is refused and
  // changes nothing: the group still awaits its state.
  absl::Status Install(const ReplicaState& state);
  // The joining server's side of a transfer in chunks (server/
  // replica_transfer.h): holds them until every byte is in and matches the
  // checksum, then installs the state as Install does. Answers the bytes
  // held (a chunk with no bytes only asks), and `installed` once done,
  // also to a repeat of the transfer just installed. A group that is not
  // awaiting its state refuses chunks (FAILED_PRECONDITION); a refused
  // chunk or a state that fails its checksum or does not install leaves
  // the group awaiting its state, with nothing of that state installed.
  absl::StatusOr<InstallReplicaResponse> InstallChunk(const InstallReplicaRequest& chunk);

  // Answers at once when the gate allows (observers always), otherwise when
  // a push or a departure opens it; `done` then runs on that caller's thread.
  // `request` and `response` must live until `done` runs.
  void Pull(const PullRequest& request, PullResponse* response, Done done);
  // The pull half of a push-pull (PushRequest.pull_next), made once the
  // push is applied: as Pull, except that while the worker's push of clock
  // - 1 still misses parts it waits for them (Pull would refuse a clock the
  // worker has not reached).
  void PullAfterPush(const PullRequest& request, PullResponse* response, Done done);
  // A push for a clock (or part) already taken is a retry: acknowledged,
  // not applied twice.
  // `forward_to` (optional) receives the address of the chain's next server,
  // to which the push must be forwarded before it is acknowledged; empty at
  // the chain's tail.
  // A push that must wait (BSP until its clock completes, SSP/async for a
  // checkpoint cut) is held as its view: a view with an owner (the raw gRPC
  // path's) is held without copying its tensors; one without is copied.
  absl::Status Push(PushView push, std::string* forward_to = nullptr);
  // Views `request` (copied only if it must be held).
  absl::Status Push(const PushRequest& request, std::string* forward_to = nullptr) {
    return Push(ViewOf(request), forward_to);
  }

  // Federated jobs (server/round_aggregator.h): ends a round. The mean
  // delta of the round's contributors is applied through each range's
  // optimizer as the gradient -delta. A retried close of the round just
  // closed is acknowledged and changes nothing.
  absl::Status CloseRound(const CloseRoundRequest& request);

  // Export: a page of the rows this server holds of one sparse table,
  // ascending by key, values only. Served like an observer's pull, at once
  // and outside the job's clock.
  absl::Status ListSparseRows(const ListSparseRowsRequest& request,
                              ListSparseRowsResponse* response) const;

  // Logs each pull that has waited past the job's stall timeout, once.
  void CheckStalls(absl::Time now);
  GateReport Report(absl::Time now) const;
  // Fails every waiting pull with `why` and every later one too.
  void Close(const absl::Status& why);

  nlohmann::json StatusJson() const;

  // Everything this server holds of the job: every range's values and
  // optimizer state, every sparse row, and the workers' clocks, labelled
  // with `clock` (the caller makes sure the cut is consistent there).
  ShardCheckpoint Snapshot(int64_t clock) const;
  // The clock of the latest checkpoint this server wrote (0: none).
  int64_t checkpointed_clock() const;
  // Loads a Snapshot into these shards, which must hold exactly the same
  // ranges and sparse shards with the same optimizers; otherwise
  // FAILED_PRECONDITION naming the mismatch, and nothing changes. Every
  // worker then resumes at the checkpoint's clock.
  absl::Status Restore(const ShardCheckpoint& checkpoint);

 private:
  struct Counters {
    std::atomic<int64_t> pulls{0};
    std::atomic<int64_t> pushes{0};
    std::atomic<int64_t> bytes_in{0};
    std::atomic<int64_t> bytes_out{0};
    std::atomic<int64_t> apply_nanos{0};  // time spent applying gradients
  };
  struct WaitingPull {
    const PullRequest* request;
    PullResponse* response;
    Done done;
    absl::Time since;
    bool stall_logged = false;
    bool after_push = false;  // PullAfterPush's: also waits for the worker's own push
  };
  using Released = std::vector<std::function<void()>>;

  JobShards(std::string job_id, std::string server_id, int group,
            std::vector<std::string> worker_ids, int staleness, absl::Duration stall_timeout,
            int checkpoint_every)
      : job_id_(std::move(job_id)),
        server_id_(std::move(server_id)),
        group_(group),
        stall_timeout_(stall_timeout),
        checkpoint_every_(checkpoint_every),
        chain_(job_id_, server_id_, group),
        gate_(worker_ids, staleness),
        buffer_(static_cast<int>(worker_ids.size()), staleness == 0, checkpoint_every) {}

  // The push path (job_shards_push.cc), in the order Push calls it.
  absl::Status AddRoundUpload(const PushView& push) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Applies a push that need not wait, timing it.
  void ApplyNow(const PushView& push) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // BSP: applies, oldest first, every held clock that all workers have pushed.
  void ApplyCompleteClocks() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // SSP and async with checkpoints: takes each cut every worker has reached
  // and applies the pushes deferred for it.
  void TakeDueCuts() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands a snapshot at `clock` to the writer when this server heads the
  // chain and the job takes checkpoints.
  void MaybeCheckpoint(int64_t clock) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Answers the waiting pulls the gate now lets through; the callbacks are
  // returned to run after the lock is released.
  void ReleaseReady(Released* released) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Pulls (job_shards_pull.cc).
  // Answers `request` now if nothing makes it wait: true, with `status` set.
  bool TryAnswer(const PullRequest& request, PullResponse* response, absl::Status* status,
                 bool after_push = false) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void PullImpl(const PullRequest& request, PullResponse* response, Done done, bool after_push);
  // PullAfterPush: the worker's push of the clock before `request`'s has
  // all its parts here.
  bool OwnPushIn(const PullRequest& request) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The gate lets a pull for `clock` through, and no cut holds it.
  bool PullReady(int64_t clock) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return gate_.Ready(clock) && !(buffer_.cuts() && buffer_.CutHolds(clock, gate_.MinClock()));
  }
  absl::Status Serve(const PullRequest& request, PullResponse* response)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // The request's shard map epoch against this server's (ReplicationChain::
  // CheckEpoch); a newer one also tells on_newer_epoch_.
  absl::Status CheckEpoch(int64_t epoch) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status InstallLocked(const ReplicaState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  ShardCheckpoint SnapshotLocked(int64_t clock) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status RestoreLocked(const ShardCheckpoint& checkpoint) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string job_id_;
  const std::string server_id_;
  const int group_;
  const absl::Duration stall_timeout_;
  // Where and how often checkpoints go (set once by Create).
  const int checkpoint_every_;
  std::string checkpoint_dir_;
  int groups_ = 1;
  std::unique_ptr<CheckpointWriter> writer_;
  Counters counters_;
  std::function<void()> on_newer_epoch_ = [] {};

  // One lock for the whole group: the parts below are not thread-safe on
  // their own, and a push changes several of them at once.
  mutable absl::Mutex mu_;
  JobState state_ ABSL_GUARDED_BY(mu_) = RUNNING;
  absl::Status closed_ ABSL_GUARDED_BY(mu_);
  int64_t last_checkpoint_ ABSL_GUARDED_BY(mu_) = -1;  // the clock last handed to the writer
  // Per rank, the join clock of the assignment last applied: a new one means
  // a worker (re)joined the rank, even under the same id.
  std::vector<int64_t> join_clocks_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> departed_ ABSL_GUARDED_BY(mu_);  // per rank, as last assigned
  ReplicationChain chain_ ABSL_GUARDED_BY(mu_);
  // Built by Create, then only guarded.
  std::unique_ptr<TableShards> tables_ ABSL_GUARDED_BY(mu_);
  // Federated jobs only.
  std::unique_ptr<FederatedRounds> rounds_ ABSL_GUARDED_BY(mu_);
  StalenessGate gate_ ABSL_GUARDED_BY(mu_);
  ClockBuffer buffer_ ABSL_GUARDED_BY(mu_);
  std::list<WaitingPull> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_JOB_SHARDS_H_

// The shards of one shard group of one job, as one server of the group's
// chain holds them: the group's ranges of the dense tables and its sparse
// shards, their optimizer state, the staleness gate and the pulls waiting on
// it. Every server of the chain holds the same pushes (the primary forwards
// each to the next server before acknowledging it), so any of them can take
// over as primary. Pull and Push check the whole request before touching
// anything, so a bad request changes no state.
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
#include <map>
#include <set>
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
#include "server/optimizer.h"
#include "server/push_parts.h"
#include "server/replica_transfer.h"
#include "server/round_aggregator.h"
#include "server/sparse_rows.h"
#include "server/staleness_gate.h"

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
  // makes the call), and from then on pushes are forwarded to the new
  // server too. Returns the id of the
  // server that is due a transfer from this one, or "" when none is.
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

  // Export (server/job_shards_export.cc): a page of the rows this server
  // holds of one sparse table, ascending by key, values only. Served like an
  // observer's pull, at once and outside the job's clock.
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
  struct Range {
    int64_t begin = 0;
    int64_t end = 0;
    std::vector<float> values;
    const Optimizer* optimizer = nullptr;  // its table's
    std::vector<float> optimizer_state;
    std::vector<float> bsp_sum;              // BSP: the clock's summed gradient
    int64_t sum_lo = 0, sum_hi = 0;          // the part of bsp_sum written
  };
  struct Table {
    int64_t size = 0;
    std::unique_ptr<Optimizer> optimizer;  // optimizer.tables[name], else the job's
    std::vector<Range> ranges;  // by begin
  };
  // This server's shard of one sparse table.
  struct SparseShardState {
    int index = 0;  // holds the keys k with SparseShardOf(k, count) == index
    int count = 1;
    std::unique_ptr<Optimizer> optimizer;
    std::unique_ptr<SparseRows> rows;
  };
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
            std::vector<std::string> worker_ids, int staleness, absl::Duration stall_timeout)
      : job_id_(std::move(job_id)),
        server_id_(std::move(server_id)),
        group_(group),
        stall_timeout_(stall_timeout),
        gate_(worker_ids, staleness),
        parts_(static_cast<int>(worker_ids.size())) {}

  // Federated jobs: sets up rounds_ over the group's ranges (after Create
  // has built them), each range's mask stream its table's index in `map`.
  void InitRounds(const JobSpec& spec, const ShardMap& map) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A FIXED64 push: part of a worker's upload for a federated round.
  absl::Status AddRoundUpload(const PushView& push) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Takes the group's chain from `map` (epoch already checked).
  void SetChain(const ShardMap& map) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int PositionInChain() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The next server of the chain that holds the state, or "".
  std::string NextInChainLocked() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // The chain index of the server this one owes the state to, or -1.
  int DueTransfer() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status RebuildingError() const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status InstallLocked(const ReplicaState& state) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A request made under another shard map than this server's: an older
  // one is refused (the caller refreshes its map), a newer one is retried
  // (this server has not heard of it yet). 0 skips the check.
  absl::Status CheckEpoch(int64_t epoch) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  ShardCheckpoint SnapshotLocked(int64_t clock) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status RestoreLocked(const ShardCheckpoint& checkpoint) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Hands a snapshot at `clock` to the writer when this server heads the
  // chain and the job takes checkpoints.
  void MaybeCheckpoint(int64_t clock) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // The held range that contains `slice`, or the error that says why none does.
  // Only reads the tables: a shared lock suffices.
  absl::StatusOr<Range*> FindRange(const Slice& slice) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status CheckGradients(const PushView& push) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `push` with its dense gradients decoded to float32 (its encoding says
  // how they came), once each slice is known to be held here.
  absl::Status DecodeGradients(const PushView& push, PushView* decoded)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The sparse shard of `table`, once `key_bytes` are checked (whole uint64s,
  // each once, all held here); the keys are returned through `keys`.
  absl::StatusOr<SparseShardState*> FindSparse(const std::string& table,
                                               absl::string_view key_bytes,
                                               absl::Span<const uint64_t>* keys)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  absl::Status Serve(const PullRequest& request, PullResponse* response)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // Answers `request` now if nothing makes it wait: true, with `status` set.
  bool TryAnswer(const PullRequest& request, PullResponse* response, absl::Status* status,
                 bool after_push = false) ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void PullImpl(const PullRequest& request, PullResponse* response, Done done, bool after_push);
  // PullAfterPush: the worker's push of the clock before `request`'s has
  // all its parts here.
  bool OwnPushIn(const PullRequest& request) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void ApplyNow(const PushView& push) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // BSP: applies, oldest first, every held clock that all workers have pushed.
  void ApplyCompleteClocks() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // SSP and async with checkpoints: pushes for clocks from the next cut on
  // are deferred, and pulls past it wait, until every worker has pushed the
  // clocks before it; then the cut is taken and the deferred pushes applied.
  bool CutHolds(int64_t clock) const ABSL_SHARED_LOCKS_REQUIRED(mu_);
  void TakeDueCuts() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The gate lets a pull for `clock` through, and no cut holds it.
  bool PullReady(int64_t clock) const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return gate_.Ready(clock) && !CutHolds(clock);
  }
  // Answers the waiting pulls the gate now lets through; the callbacks are
  // returned to run after the lock is released.
  void ReleaseReady(Released* released) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string job_id_;
  const std::string server_id_;
  const int group_;
  const absl::Duration stall_timeout_;
  Counters counters_;
  // Where and how often checkpoints go (set once by Create).
  std::string checkpoint_dir_;
  int checkpoint_every_ = 0;
  int groups_ = 1;
  std::unique_ptr<CheckpointWriter> writer_;
  std::function<void()> on_newer_epoch_ = [] {};

  mutable absl::Mutex mu_;
  JobState state_ ABSL_GUARDED_BY(mu_) = RUNNING;
  int64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> chain_ ABSL_GUARDED_BY(mu_);            // server ids
  std::vector<std::string> chain_addresses_ ABSL_GUARDED_BY(mu_);
  int64_t last_checkpoint_ ABSL_GUARDED_BY(mu_) = -1;  // the clock last handed to the writer
  int ready_ ABSL_GUARDED_BY(mu_) = 1;  // the chain's servers that hold the state
  // Per rank, the join clock of the assignment last applied: a new one means
  // a worker (re)joined the rank, even under the same id.
  std::vector<int64_t> join_clocks_ ABSL_GUARDED_BY(mu_);
  std::vector<bool> departed_ ABSL_GUARDED_BY(mu_);  // per rank, as last assigned
  // SSP/async checkpoints: the clock of the next cut, and the pushes for it
  // and later, in arrival order, waiting for it to be taken.
  int64_t next_cut_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<PushView> deferred_ ABSL_GUARDED_BY(mu_);
  // This server joined the chain and has not received the state yet.
  bool awaiting_install_ ABSL_GUARDED_BY(mu_) = false;
  // The chunks of the state transfer in progress, and the transfer (id,
  // bytes) last installed, for a sender that lost its answer.
  ReplicaAssembler incoming_ ABSL_GUARDED_BY(mu_);
  std::string installed_transfer_ ABSL_GUARDED_BY(mu_);
  int64_t installed_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  // Servers after this one that received the state from it.
  std::set<std::string> installed_ ABSL_GUARDED_BY(mu_);
  // When this server became the group's primary by a promotion, and when it
  // then acknowledged its first push (the failover's end, for the logs and
  // tools/bench_failover).
  absl::Time promoted_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Time first_push_as_primary_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Status closed_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Table> tables_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, SparseShardState> sparse_ ABSL_GUARDED_BY(mu_);
  // Federated jobs only: the uploads of rounds not closed yet.
  std::unique_ptr<RoundAggregator> rounds_ ABSL_GUARDED_BY(mu_);
  double dp_noise_stddev_ = 0;  // set once by Create
  StalenessGate gate_ ABSL_GUARDED_BY(mu_);
  std::list<WaitingPull> waiting_ ABSL_GUARDED_BY(mu_);
  PushParts parts_ ABSL_GUARDED_BY(mu_);
  // A misaligned gradient's floats on their way to an optimizer
  // (job_shards_updates.cc), kept from push to push.
  std::vector<float> staging_ ABSL_GUARDED_BY(mu_);
  // BSP: clock -> the pushes of that clock held so far, by rank (each push
  // as the parts it came in), each a view that owns its bytes.
  std::map<int64_t, std::vector<std::vector<PushView>>> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_JOB_SHARDS_H_

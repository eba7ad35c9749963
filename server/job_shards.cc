// Building the facade, following the coordinator's assignments, and the
// calls that go to one part each (checkpoints, export, federated rounds).
// The push path: job_shards_push.cc; pulls and their reports:
// job_shards_pull.cc; rebuilding a replica: job_shards_replica.cc.
#include "server/job_shards.h"

#include <algorithm>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "checkpoint/checkpoint_cut.h"
#include "spdlog/spdlog.h"

namespace petrel::server {

absl::StatusOr<std::unique_ptr<JobShards>> JobShards::Create(const JobAssignment& assignment,
                                                             const std::string& server_id,
                                                             int group) {
  const JobSpec& spec = assignment.spec();
  const double stall_seconds = spec.training().stall_timeout_seconds() > 0
                                   ? spec.training().stall_timeout_seconds()
                                   : 30;
  auto shards = std::unique_ptr<JobShards>(new JobShards(
      assignment.job_id(), server_id, group,
      {assignment.worker_ids().begin(), assignment.worker_ids().end()},
      spec.training().staleness(), absl::Seconds(stall_seconds),
      spec.checkpoint().every_clocks()));
  const ShardMap& map = assignment.shard_map();
  shards->checkpoint_dir_ = spec.checkpoint().dir();
  shards->groups_ = std::max(1, map.groups_size());
  if (shards->checkpoint_every_ > 0) shards->writer_ = std::make_unique<CheckpointWriter>();
  absl::MutexLock lock(&shards->mu_);
  shards->state_ = assignment.state();
  shards->chain_.Init(map);
  for (const WorkerSlot& slot : assignment.workers()) shards->join_clocks_.push_back(slot.join_clock());
  shards->join_clocks_.resize(shards->gate_.num_workers(), 0);
  shards->departed_.assign(shards->gate_.num_workers(), false);
  PETREL_ASSIGN_OR_RETURN(shards->tables_,
                          TableShards::Create(spec, map, assignment.job_id(), server_id, group,
                                              shards->gate_.bsp()));
  if (spec.mode() == "federated") {
    shards->rounds_ =
        std::make_unique<FederatedRounds>(spec, shards->tables_->RoundLayout(map));
  }
  return shards;
}

JobShards::~JobShards() { Close(absl::CancelledError("the job's shards were dropped")); }

absl::Status JobShards::CheckEpoch(int64_t epoch) const {
  if (epoch > chain_.epoch()) on_newer_epoch_();
  return chain_.CheckEpoch(epoch);
}

void JobShards::Update(const JobAssignment& assignment) {
  Released released;
  {
    absl::MutexLock lock(&mu_);
    const JobState was = state_;
    state_ = assignment.state();
    chain_.Follow(assignment.shard_map());
    const int workers = std::min(assignment.workers_size(), gate_.num_workers());
    for (int rank = 0; rank < workers; ++rank) {
      const WorkerSlot& slot = assignment.workers(rank);
      const bool rejoined = !slot.departed() && slot.join_clock() != join_clocks_[rank];
      if (rejoined) departed_[rank] = false;
      join_clocks_[rank] = slot.join_clock();
      if (slot.worker_id() != gate_.worker_id(rank) || rejoined) {
        // The replacement starts where the others are: it never pushes
        // clocks this group has already applied without it.
        int64_t frontier = -1;
        for (const WorkerClock& other : gate_.Clocks()) {
          if (!other.left() && other.worker_id() != gate_.worker_id(rank)) {
            frontier = frontier < 0 ? other.clock() : std::min(frontier, other.clock());
          }
        }
        const int64_t clock = std::max(slot.join_clock(), frontier);
        spdlog::info("job {} group {}: {} takes rank {} from {} at clock {}", job_id_, group_,
                     slot.worker_id(), rank, gate_.worker_id(rank), clock);
        gate_.SetWorker(rank, slot.worker_id(), clock);
        buffer_.ResetParts(rank);
      } else if (slot.departed() && !gate_.left(rank)) {
        spdlog::info("job {} group {}: {} departed; it leaves the clock set", job_id_, group_,
                     slot.worker_id());
        gate_.Leave(rank);
      }
      departed_[rank] = slot.departed();
    }
    if (gate_.bsp()) {
      ApplyCompleteClocks();
    } else {
      TakeDueCuts();
    }
    ReleaseReady(&released);
    if (was == RUNNING && state_ == SUCCEEDED) {
      // The final cut: every worker has left, after its last clock.
      int64_t last = 0;
      for (const WorkerClock& clock : gate_.Clocks()) last = std::max(last, clock.clock());
      MaybeCheckpoint(last);
    }
  }
  for (auto& callback : released) callback();
  if (assignment.state() == FAILED || assignment.state() == CANCELLED) set_state(assignment.state());
}

JobState JobShards::state() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_;
}

void JobShards::set_state(JobState state) {
  {
    absl::MutexLock lock(&mu_);
    state_ = state;
  }
  if (state == FAILED || state == CANCELLED) {
    Close(absl::AbortedError(absl::StrCat("job ", job_id_, " is ", JobState_Name(state))));
  }
}

void JobShards::Close(const absl::Status& why) {
  std::list<WaitingPull> failed;
  {
    absl::MutexLock lock(&mu_);
    if (closed_.ok()) closed_ = why;
    failed.swap(waiting_);
  }
  for (WaitingPull& pull : failed) pull.done(why);
}

void JobShards::MaybeCheckpoint(int64_t clock) {
  if (writer_ == nullptr || clock <= last_checkpoint_ || !chain_.primary()) return;
  last_checkpoint_ = clock;
  ShardCheckpoint checkpoint = SnapshotLocked(clock);
  writer_->Enqueue(GroupFile(CutDirectory(checkpoint_dir_, job_id_, clock), group_),
                   std::move(checkpoint));
}

int64_t JobShards::checkpointed_clock() const {
  return writer_ ? writer_->written_clock() : 0;
}

ShardCheckpoint JobShards::Snapshot(int64_t clock) const {
  absl::ReaderMutexLock lock(&mu_);
  return SnapshotLocked(clock);
}

ShardCheckpoint JobShards::SnapshotLocked(int64_t clock) const {
  ShardCheckpoint checkpoint;
  checkpoint.set_job_id(job_id_);
  checkpoint.set_server_id(server_id_);
  checkpoint.set_clock(clock);
  checkpoint.set_group(group_);
  checkpoint.set_groups(groups_);
  tables_->SnapshotInto(&checkpoint);
  for (const WorkerClock& clock_of : gate_.Clocks()) *checkpoint.add_worker_clocks() = clock_of;
  return checkpoint;
}

absl::Status JobShards::Restore(const ShardCheckpoint& checkpoint) {
  absl::MutexLock lock(&mu_);
  return RestoreLocked(checkpoint);
}

absl::Status JobShards::RestoreLocked(const ShardCheckpoint& checkpoint) {
  PETREL_RETURN_IF_ERROR(tables_->Restore(checkpoint));
  gate_.ResumeAt(checkpoint.clock());
  buffer_.ResumeAt(checkpoint.clock());
  return absl::OkStatus();
}

absl::Status JobShards::ListSparseRows(const ListSparseRowsRequest& request,
                                       ListSparseRowsResponse* response) const {
  if (request.max_rows() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ListSparseRows: max_rows must be >= 0 (0: as many as fit), got ",
                     request.max_rows()));
  }
  absl::ReaderMutexLock lock(&mu_);
  if (!closed_.ok()) return closed_;
  if (chain_.awaiting_state()) return chain_.RebuildingError();
  return tables_->ListSparseRows(request, response);
}

absl::Status JobShards::CloseRound(const CloseRoundRequest& request) {
  absl::MutexLock lock(&mu_);
  if (rounds_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("job ", job_id_, " is not federated: it has no rounds to close"));
  }
  if (state_ != RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id_, " is ", JobState_Name(state_), "; rounds are closed"));
  }
  PETREL_RETURN_IF_ERROR(CheckEpoch(request.shard_map_epoch()));
  if (chain_.awaiting_state()) return chain_.RebuildingError();
  const absl::Time start = absl::Now();
  absl::StatusOr<RoundAggregator::Aggregate> aggregate = rounds_->Close(request);
  if (absl::IsAlreadyExists(aggregate.status())) return absl::OkStatus();  // a retried close
  PETREL_RETURN_IF_ERROR(aggregate.status());
  tables_->ApplyMeanDelta(rounds_->layout(), aggregate->mean_delta);
  counters_.apply_nanos += absl::ToInt64Nanoseconds(absl::Now() - start);
  spdlog::info("job {} group {}: round {} applied ({} contributors, weight {:.0f}, {} masks "
               "of dropped workers removed)",
               job_id_, group_, request.round(), aggregate->contributors, aggregate->weight,
               request.corrections_size());
  return absl::OkStatus();
}

}  // namespace petrel::server

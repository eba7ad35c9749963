#include "server/job_shards.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/wire/float_bytes.h"
#include "common/jobspec/job_validation.h"
#include "server/sparse_apply.h"
#include "common/jobspec/model_tables.h"
#include "common/jobspec/partition.h"
#include "common/shard_map_epoch.h"
#include "common/status_macros.h"
#include "checkpoint/checkpoint_cut.h"
#include "server/initializer.h"
#include "spdlog/spdlog.h"

namespace petrel::server {
namespace {

std::string DescribeLate(const std::vector<WorkerClock>& late) {
  std::vector<std::string> parts;
  for (const WorkerClock& worker : late) {
    parts.push_back(absl::StrCat(worker.worker_id(), " (clock ", worker.clock(), ")"));
  }
  return parts.empty() ? "nobody" : absl::StrJoin(parts, ", ");
}

}  // namespace

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
      spec.training().staleness(), absl::Seconds(stall_seconds)));
  const ShardMap& map = assignment.shard_map();
  const uint64_t seed = spec.training().seed();
  shards->checkpoint_dir_ = spec.checkpoint().dir();
  shards->checkpoint_every_ = spec.checkpoint().every_clocks();
  shards->groups_ = std::max(1, map.groups_size());
  if (shards->checkpoint_every_ > 0) shards->writer_ = std::make_unique<CheckpointWriter>();
  shards->next_cut_ = shards->checkpoint_every_;
  absl::MutexLock lock(&shards->mu_);
  shards->state_ = assignment.state();
  shards->epoch_ = map.epoch();
  shards->SetChain(map);
  for (const WorkerSlot& slot : assignment.workers()) shards->join_clocks_.push_back(slot.join_clock());
  shards->join_clocks_.resize(shards->gate_.num_workers(), 0);
  shards->departed_.assign(shards->gate_.num_workers(), false);
  // A server added to the chain after the job started waits for the state.
  shards->awaiting_install_ = shards->PositionInChain() >= shards->ready_;
  for (const DenseTable& table : map.tables()) {
    Table& held = shards->tables_[table.name()];
    held.size = TableSize(table);
    PETREL_ASSIGN_OR_RETURN(held.optimizer, CreateOptimizer(OptimizerFor(spec, table.name())));
  }
  for (const ShardRange& placed : map.ranges()) {
    if (placed.group() != group) continue;
    auto table_it = std::find_if(map.tables().begin(), map.tables().end(),
                                 [&](const DenseTable& t) { return t.name() == placed.table(); });
    if (table_it == map.tables().end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("shard map of job ", assignment.job_id(), " places unknown table ",
                       placed.table()));
    }
    const int64_t table_size = TableSize(*table_it);
    if (placed.begin() < 0 || placed.end() > table_size || placed.begin() >= placed.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shard map of job ", assignment.job_id(), " places [", placed.begin(), ", ",
          placed.end(), ") of ", placed.table(), ", a table of size ", table_size));
    }
    Range range;
    range.begin = placed.begin();
    range.end = placed.end();
    range.values.resize(placed.end() - placed.begin());
    PETREL_RETURN_IF_ERROR(InitializeRange(*table_it, seed, placed.begin(),
                                           absl::MakeSpan(range.values)));
    range.optimizer = shards->tables_[placed.table()].optimizer.get();
    range.optimizer_state.assign(range.values.size() * range.optimizer->StateSlots(), 0.0f);
    if (shards->gate_.bsp()) range.bsp_sum.assign(range.values.size(), 0.0f);
    shards->tables_[placed.table()].ranges.push_back(std::move(range));
  }
  for (const SparseShard& placed : map.sparse_shards()) {
    if (placed.group() != group) continue;
    auto table_it = std::find_if(
        map.sparse_tables().begin(), map.sparse_tables().end(),
        [&](const SparseTable& t) { return t.name() == placed.table(); });
    if (table_it == map.sparse_tables().end() || table_it->dim() <= 0 || placed.count() <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("shard map of job ", assignment.job_id(),
                                                     " places a bad sparse shard of ",
                                                     placed.table()));
    }
    std::vector<float> probe(table_it->dim());  // refuses an unknown initializer now
    PETREL_RETURN_IF_ERROR(InitializeSparseRow(*table_it, seed, 0, absl::MakeSpan(probe)));
    SparseShardState& state = shards->sparse_[placed.table()];
    state.index = placed.index();
    state.count = placed.count();
    PETREL_ASSIGN_OR_RETURN(state.optimizer, CreateOptimizer(OptimizerFor(spec, placed.table())));
    state.rows = std::make_unique<SparseRows>(*table_it, seed, state.optimizer->StateSlots());
  }
  for (auto& [name, table] : shards->tables_) {
    std::sort(table.ranges.begin(), table.ranges.end(),
              [](const Range& a, const Range& b) { return a.begin < b.begin; });
  }
  if (spec.mode() == "federated") shards->InitRounds(spec, map);
  return shards;
}

JobShards::~JobShards() { Close(absl::CancelledError("the job's shards were dropped")); }

absl::Status JobShards::CheckEpoch(int64_t epoch) const {
  if (epoch == 0 || epoch == epoch_) return absl::OkStatus();
  if (epoch > epoch_) on_newer_epoch_();
  if (epoch < epoch_) {
    return StaleShardMapError(absl::StrCat("job ", job_id_, ": the request was made under shard map epoch ",
                                           epoch, "; ", server_id_, " has epoch ", epoch_));
  }
  return absl::UnavailableError(absl::StrCat("job ", job_id_, ": ", server_id_,
                                             " has not yet seen shard map epoch ", epoch,
                                             " (it has ", epoch_, "); retry shortly"));
}

void JobShards::SetChain(const ShardMap& map) {
  if (group_ >= map.groups_size()) return;
  const ShardGroup& chain = map.groups(group_);
  const bool first = chain_.empty();  // from Create: nobody was promoted
  const bool was_primary = !first && chain_[0] == server_id_;
  chain_.assign(chain.servers().begin(), chain.servers().end());
  chain_addresses_.assign(chain.addresses().begin(), chain.addresses().end());
  ready_ = ReadyServers(chain);
  if (first || was_primary || chain_.empty() || chain_[0] != server_id_) return;
  if (promoted_ == absl::InfinitePast()) promoted_ = absl::Now();
}

int JobShards::PositionInChain() const {
  for (size_t k = 0; k < chain_.size(); ++k) {
    if (chain_[k] == server_id_) return static_cast<int>(k);
  }
  return -1;
}

std::string JobShards::NextInChainLocked() const {
  const int position = PositionInChain();
  if (position < 0 || position + 1 >= static_cast<int>(chain_.size())) return "";
  const std::string& next = chain_[position + 1];
  // A server being rebuilt gets pushes once it holds the state they update.
  if (position + 1 >= ready_ && installed_.count(next) == 0) return "";
  return chain_addresses_[position + 1];
}

absl::Status JobShards::RebuildingError() const {
  return absl::UnavailableError(absl::StrCat(server_id_, " is being rebuilt as a replica of group ",
                                             group_, " of job ", job_id_));
}

void JobShards::Update(const JobAssignment& assignment) {
  Released released;
  {
    absl::MutexLock lock(&mu_);
    const JobState was = state_;
    state_ = assignment.state();
    const ShardMap& map = assignment.shard_map();
    if (map.epoch() > epoch_) {
      epoch_ = map.epoch();
      SetChain(map);
      spdlog::info("job {} group {}: shard map epoch {}, chain [{}], {} up to date", job_id_,
                   group_, epoch_, absl::StrJoin(chain_, " -> "), ready_);
    }
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
        parts_.Reset(rank);
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

bool JobShards::CutHolds(int64_t clock) const {
  return checkpoint_every_ > 0 && !gate_.bsp() && clock > next_cut_ &&
         gate_.MinClock() < next_cut_;
}

void JobShards::TakeDueCuts() {
  while (checkpoint_every_ > 0 && gate_.MinClock() >= next_cut_) {
    // Every worker still in the clock set has pushed every clock before the
    // cut, and nothing from the cut on has been applied: a consistent cut.
    MaybeCheckpoint(next_cut_);
    next_cut_ += checkpoint_every_;
    std::vector<PushView> due;
    std::vector<PushView> later;
    for (PushView& push : deferred_) {
      (push.header.clock() < next_cut_ ? due : later).push_back(std::move(push));
    }
    deferred_ = std::move(later);
    const absl::Time start = absl::Now();
    for (const PushView& push : due) ApplyNow(push);
    counters_.apply_nanos += absl::ToInt64Nanoseconds(absl::Now() - start);
    if (gate_.MinClock() == std::numeric_limits<int64_t>::max()) break;  // everyone left
  }
}

void JobShards::MaybeCheckpoint(int64_t clock) {
  if (writer_ == nullptr || clock <= last_checkpoint_ || chain_.empty() || chain_[0] != server_id_) {
    return;
  }
  last_checkpoint_ = clock;
  ShardCheckpoint checkpoint = SnapshotLocked(clock);
  writer_->Enqueue(GroupFile(CutDirectory(checkpoint_dir_, job_id_, clock), group_),
                   std::move(checkpoint));
}

int64_t JobShards::checkpointed_clock() const {
  return writer_ ? writer_->written_clock() : 0;
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

absl::StatusOr<JobShards::Range*> JobShards::FindRange(const Slice& slice) {
  auto table_it = tables_.find(slice.table());
  if (table_it == tables_.end()) {
    return absl::NotFoundError(
        absl::StrCat("job ", job_id_, " has no table \"", slice.table(), "\""));
  }
  Table& table = table_it->second;
  if (slice.begin() < 0 || slice.end() > table.size || slice.begin() >= slice.end()) {
    return absl::OutOfRangeError(absl::StrCat("slice [", slice.begin(), ", ", slice.end(),
                                              ") is outside table ", slice.table(), " of size ",
                                              table.size, " (or empty)"));
  }
  for (Range& range : table.ranges) {
    if (range.begin <= slice.begin() && slice.end() <= range.end) return &range;
  }
  std::string held;
  for (const Range& range : table.ranges) {
    absl::StrAppend(&held, held.empty() ? "" : ", ", "[", range.begin, ", ", range.end, ")");
  }
  return absl::FailedPreconditionError(absl::StrCat(
      server_id_, " does not hold [", slice.begin(), ", ", slice.end(), ") of ", slice.table(),
      " (it holds ", held.empty() ? "nothing" : held, "); refresh the shard map"));
}

absl::StatusOr<JobShards::SparseShardState*> JobShards::FindSparse(
    const std::string& table, absl::string_view key_bytes, absl::Span<const uint64_t>* keys) {
  auto it = sparse_.find(table);
  if (it == sparse_.end()) {
    return absl::NotFoundError(absl::StrCat("job ", job_id_, " has no sparse table \"",
                                            table, "\" on ", server_id_));
  }
  if (key_bytes.size() % sizeof(uint64_t) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("keys of ", table, " have ",
                                                   key_bytes.size(),
                                                   " bytes, not a whole number of uint64"));
  }
  // Aligned: a std::string's storage, or a key field DecodePush viewed or
  // gathered at a multiple of 8.
  *keys = absl::MakeConstSpan(reinterpret_cast<const uint64_t*>(key_bytes.data()),
                              key_bytes.size() / sizeof(uint64_t));
  SparseShardState& shard = it->second;
  for (uint64_t key : *keys) {
    if (SparseShardOf(key, shard.count) != shard.index) {
      return absl::FailedPreconditionError(
          absl::StrCat("key ", key, " of ", table, " belongs to shard ",
                       SparseShardOf(key, shard.count), ", not to ", server_id_, " (shard ",
                       shard.index, "); refresh the shard map"));
    }
  }
  if (const std::optional<uint64_t> key = FirstRepeatedKey(*keys)) {
    return absl::InvalidArgumentError(
        absl::StrCat("key ", *key, " of ", table, " appears twice in one request"));
  }
  return &shard;
}

absl::Status JobShards::Serve(const PullRequest& request, PullResponse* response) {
  std::vector<std::pair<SparseShardState*, absl::Span<const uint64_t>>> sparse;
  for (const SparseSlice& slice : request.sparse()) {
    absl::Span<const uint64_t> keys;
    PETREL_ASSIGN_OR_RETURN(SparseShardState * shard,
                            FindSparse(slice.table(), slice.keys(), &keys));
    sparse.push_back({shard, keys});
  }
  std::vector<const Range*> ranges;
  for (const Slice& slice : request.slices()) {
    PETREL_ASSIGN_OR_RETURN(const Range* range, FindRange(slice));
    ranges.push_back(range);
  }
  int64_t bytes = 0;
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    const float* first = ranges[i]->values.data() + (slice.begin() - ranges[i]->begin);
    FloatsToBytes(absl::MakeConstSpan(first, slice.end() - slice.begin()),
                  response->add_values());
    bytes += (slice.end() - slice.begin()) * sizeof(float);
  }
  for (auto& [shard, keys] : sparse) {
    const int dim = shard->rows->dim();
    std::string* out = response->add_sparse_rows();
    out->resize(keys.size() * dim * sizeof(float));
    float* rows = reinterpret_cast<float*>(out->data());
    shard->rows->ReadAll(keys, rows);
    bytes += out->size();
  }
  counters_.pulls += 1;
  counters_.bytes_out += bytes;
  return absl::OkStatus();
}

bool JobShards::OwnPushIn(const PullRequest& request) const {
  absl::StatusOr<int> rank = gate_.RankOf(request.worker_id());
  return !rank.ok() || gate_.AlreadyPushed(*rank, request.clock() - 1);
}

bool JobShards::TryAnswer(const PullRequest& request, PullResponse* response,
                          absl::Status* status, bool after_push) {
  if (!closed_.ok()) {
    *status = closed_;
    return true;
  }
  if (*status = CheckEpoch(request.shard_map_epoch()); !status->ok()) return true;
  if (awaiting_install_) {
    *status = RebuildingError();
    return true;
  }
  if (request.observer()) {
    *status = Serve(request, response);
    return true;
  }
  // Bad slices and clocks are refused before the pull may wait.
  for (const Slice& slice : request.slices()) {
    if (auto range = FindRange(slice); !range.ok()) {
      *status = range.status();
      return true;
    }
  }
  for (const SparseSlice& slice : request.sparse()) {
    absl::Span<const uint64_t> keys;
    if (auto shard = FindSparse(slice.table(), slice.keys(), &keys); !shard.ok()) {
      *status = shard.status();
      return true;
    }
  }
  // A push-pull's parts answer once the last of them is in.
  if (after_push && !OwnPushIn(request)) return false;
  absl::StatusOr<int> rank = gate_.RankOf(request.worker_id());
  *status = rank.ok() ? gate_.CheckPull(*rank, request.clock()) : rank.status();
  if (!status->ok()) return true;
  if (!PullReady(request.clock())) return false;
  gate_.RecordServed(request.clock(), /*waited=*/false);
  *status = Serve(request, response);
  return true;
}

void JobShards::Pull(const PullRequest& request, PullResponse* response, Done done) {
  PullImpl(request, response, std::move(done), /*after_push=*/false);
}

void JobShards::PullAfterPush(const PullRequest& request, PullResponse* response, Done done) {
  PullImpl(request, response, std::move(done), /*after_push=*/true);
}

void JobShards::PullImpl(const PullRequest& request, PullResponse* response, Done done,
                         bool after_push) {
  absl::Status status;
  bool answered;
  {
    // Most pulls are answered at once: under a shared lock, in parallel.
    absl::ReaderMutexLock lock(&mu_);
    answered = TryAnswer(request, response, &status, after_push);
  }
  if (!answered) {
    absl::MutexLock lock(&mu_);
    // A push may have opened the gate in between.
    answered = TryAnswer(request, response, &status, after_push);
    if (!answered) {
      WaitingPull& waiting = waiting_.emplace_back();
      waiting.request = &request;
      waiting.response = response;
      waiting.done = std::move(done);
      waiting.since = absl::Now();
      waiting.after_push = after_push;
      return;
    }
  }
  done(status);
}

absl::Status JobShards::Push(PushView push, std::string* forward_to) {
  Released released;
  {
    absl::MutexLock lock(&mu_);
    const PushRequest& request = push.header;
    if (state_ != RUNNING) {
      return absl::FailedPreconditionError(
          absl::StrCat("job ", job_id_, " is ", JobState_Name(state_), "; pushes are closed"));
    }
    PETREL_RETURN_IF_ERROR(CheckEpoch(request.shard_map_epoch()));
    if (awaiting_install_) return RebuildingError();
    PETREL_ASSIGN_OR_RETURN(const int rank, gate_.RankOf(request.worker_id()));
    if (departed_[rank]) {
      // The coordinator took this worker out (it went silent); its daemon
      // starts a new stint when it is given the rank back. Not a job error.
      return absl::AbortedError(absl::StrCat(request.worker_id(), " departed from job ", job_id_,
                                             " after missing heartbeats; its trainer stops"));
    }
    if (request.encoding() == FIXED64) {
      PETREL_RETURN_IF_ERROR(AddRoundUpload(push));
      if (forward_to != nullptr) *forward_to = NextInChainLocked();
      return absl::OkStatus();
    }
    const int64_t clock = request.clock();
    const int part = request.part(), parts = request.parts();
    if (request.leave()) {
      gate_.Leave(rank);
    } else if (gate_.AlreadyPushed(rank, clock) || parts_.Seen(rank, clock, part, parts)) {
      // A retry of what is already here: acknowledged, not applied again.
    } else {
      const int64_t wire_bytes = PayloadBytes(push);  // as they came over the wire
      // Compressed gradients become float32 before anything looks at them.
      if (request.encoding() != FLOAT32) {
        PushView decoded;
        PETREL_RETURN_IF_ERROR(DecodeGradients(push, &decoded));
        push = std::move(decoded);
      }
      // Check everything first: a bad request must change nothing.
      PETREL_RETURN_IF_ERROR(CheckGradients(push));
      PETREL_RETURN_IF_ERROR(gate_.CheckPush(rank, clock));
      PETREL_RETURN_IF_ERROR(parts_.Check(rank, clock, part, parts));
      if (gate_.bsp()) {
        auto& by_rank = held_[clock];
        by_rank.resize(gate_.num_workers());
        Retain(&push);
        by_rank[rank].push_back(std::move(push));
      } else if (checkpoint_every_ > 0 && clock >= next_cut_) {
        Retain(&push);
        deferred_.push_back(std::move(push));
      } else {
        const absl::Time start = absl::Now();
        ApplyNow(push);
        counters_.apply_nanos += absl::ToInt64Nanoseconds(absl::Now() - start);
      }
      if (parts_.Record(rank, clock, part, parts)) {
        gate_.RecordPush(rank);
        counters_.pushes += 1;
      }
      counters_.bytes_in += wire_bytes;
    }
    if (gate_.bsp()) {
      const absl::Time start = absl::Now();
      ApplyCompleteClocks();
      counters_.apply_nanos += absl::ToInt64Nanoseconds(absl::Now() - start);
    } else {
      TakeDueCuts();
    }
    ReleaseReady(&released);
    if (promoted_ != absl::InfinitePast() && first_push_as_primary_ == absl::InfinitePast()) {
      first_push_as_primary_ = absl::Now();
      spdlog::info("job {} group {}: first push taken as the new primary, {:.0f} ms after the "
                   "promotion reached this server",
                   job_id_, group_, absl::ToDoubleMilliseconds(first_push_as_primary_ - promoted_));
    }
    if (forward_to != nullptr) *forward_to = NextInChainLocked();
  }
  for (auto& callback : released) callback();
  return absl::OkStatus();
}

void JobShards::ReleaseReady(Released* released) {
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    if (!PullReady(it->request->clock()) || (it->after_push && !OwnPushIn(*it->request))) {
      ++it;
      continue;
    }
    gate_.RecordServed(it->request->clock(), /*waited=*/true);
    absl::Status status = Serve(*it->request, it->response);
    released->push_back([done = std::move(it->done), status] { done(status); });
    it = waiting_.erase(it);
  }
}

void JobShards::CheckStalls(absl::Time now) {
  absl::MutexLock lock(&mu_);
  for (WaitingPull& pull : waiting_) {
    if (pull.stall_logged || now - pull.since < stall_timeout_) continue;
    pull.stall_logged = true;
    spdlog::warn("job {}: the pull of {} for clock {} has waited {:.1f} s (stall timeout {:.0f} s) "
                 "for {}",
                 job_id_, pull.request->worker_id(), pull.request->clock(),
                 absl::ToDoubleSeconds(now - pull.since), absl::ToDoubleSeconds(stall_timeout_),
                 DescribeLate(gate_.LateFor(pull.request->clock())));
  }
}

GateReport JobShards::Report(absl::Time now) const {
  absl::MutexLock lock(&mu_);
  GateReport report;
  report.set_job_id(job_id_);
  for (WorkerClock& clock : gate_.Clocks()) *report.add_clocks() = std::move(clock);
  const int64_t min = gate_.MinClock();
  report.set_min_clock(min == std::numeric_limits<int64_t>::max() ? -1 : min);
  report.set_max_observed_staleness(gate_.max_observed_staleness());
  report.set_pulls_waited(gate_.pulls_waited());
  report.set_group(group_);
  report.set_primary(!chain_.empty() && chain_[0] == server_id_);
  report.set_checkpointed_clock(checkpointed_clock());
  for (const std::string& server : installed_) report.add_installed(server);
  for (const WaitingPull& pull : waiting_) {
    if (now - pull.since < stall_timeout_) continue;
    StalledPull* stall = report.add_stalls();
    stall->set_worker_id(pull.request->worker_id());
    stall->set_clock(pull.request->clock());
    stall->set_seconds(absl::ToDoubleSeconds(now - pull.since));
    for (WorkerClock& late : gate_.LateFor(pull.request->clock())) {
      *stall->add_late() = std::move(late);
    }
  }
  return report;
}

nlohmann::json JobShards::StatusJson() const {
  const GateReport gate = Report(absl::Now());
  absl::MutexLock lock(&mu_);
  nlohmann::json shards = nlohmann::json::array();
  for (const auto& [name, table] : tables_) {
    for (const Range& range : table.ranges) {
      shards.push_back({{"table", name}, {"begin", range.begin}, {"end", range.end},
                        {"table_size", table.size}});
    }
  }
  nlohmann::json sparse = nlohmann::json::array();
  for (const auto& [name, shard] : sparse_) {
    sparse.push_back({{"table", name}, {"dim", shard.rows->dim()}, {"shard", shard.index},
                      {"of", shard.count}, {"rows", shard.rows->rows()},
                      {"bytes", shard.rows->bytes()}});
  }
  nlohmann::json clocks = nlohmann::json::object();
  for (const WorkerClock& clock : gate.clocks()) clocks[clock.worker_id()] = clock.clock();
  nlohmann::json stalls = nlohmann::json::array();
  for (const StalledPull& stall : gate.stalls()) {
    nlohmann::json late = nlohmann::json::array();
    for (const WorkerClock& worker : stall.late()) {
      late.push_back({{"worker", worker.worker_id()}, {"clock", worker.clock()}});
    }
    stalls.push_back({{"waiting_worker", stall.worker_id()}, {"clock", stall.clock()},
                      {"seconds", stall.seconds()}, {"late", late}});
  }
  return {{"job_id", job_id_},
          {"group", group_},
          {"role", !chain_.empty() && chain_[0] == server_id_ ? "primary" : "backup"},
          {"chain", chain_},
          {"shard_map_epoch", epoch_},
          {"checkpointed_clock", checkpointed_clock()},
          {"promoted_unix", promoted_ == absl::InfinitePast() ? 0.0 : absl::ToUnixMicros(promoted_) / 1e6},
          {"first_push_as_primary_unix", first_push_as_primary_ == absl::InfinitePast()
                                             ? 0.0
                                             : absl::ToUnixMicros(first_push_as_primary_) / 1e6},
          {"state", JobState_Name(state_)},
          {"shards", shards},
          {"sparse_tables", sparse},
          {"staleness", gate_.staleness()},
          {"worker_clocks", clocks},
          {"min_clock", gate.min_clock()},
          {"max_observed_staleness", gate.max_observed_staleness()},
          {"pulls_waiting", waiting_.size()},
          {"pulls_waited", gate.pulls_waited()},
          {"stalls", stalls},
          {"pulls_served", counters_.pulls.load()},
          {"pushes_served", counters_.pushes.load()},
          {"bytes_in", counters_.bytes_in.load()},
          {"bytes_out", counters_.bytes_out.load()},
          {"apply_seconds", counters_.apply_nanos.load() / 1e9}};
}

}  // namespace petrel::server

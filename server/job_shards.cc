#include "server/job_shards.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/float_bytes.h"
#include "common/model_tables.h"
#include "common/status_macros.h"
#include "server/initializer.h"

namespace petrel::server {

absl::StatusOr<std::unique_ptr<JobShards>> JobShards::Create(const JobAssignment& assignment,
                                                             const std::string& server_id) {
  PETREL_ASSIGN_OR_RETURN(auto optimizer, CreateOptimizer(assignment.spec().optimizer()));
  auto shards = std::unique_ptr<JobShards>(
      new JobShards(assignment.job_id(), server_id, std::move(optimizer)));
  const ShardMap& map = assignment.shard_map();
  const uint64_t seed = assignment.spec().training().seed();
  absl::MutexLock lock(&shards->mu_);
  shards->state_ = assignment.state();
  for (const DenseTable& table : map.tables()) {
    shards->tables_[table.name()].size = TableSize(table);
  }
  for (const ShardRange& placed : map.ranges()) {
    if (placed.server_id() != server_id) continue;
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
    range.optimizer_state.assign(range.values.size() * shards->optimizer_->StateSlots(), 0.0f);
    shards->tables_[placed.table()].ranges.push_back(std::move(range));
  }
  for (auto& [name, table] : shards->tables_) {
    std::sort(table.ranges.begin(), table.ranges.end(),
              [](const Range& a, const Range& b) { return a.begin < b.begin; });
  }
  return shards;
}

JobState JobShards::state() const {
  absl::ReaderMutexLock lock(&mu_);
  return state_;
}

void JobShards::set_state(JobState state) {
  absl::MutexLock lock(&mu_);
  state_ = state;
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

absl::Status JobShards::Pull(const PullRequest& request, PullResponse* response) {
  absl::ReaderMutexLock lock(&mu_);
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
  counters_.pulls += 1;
  counters_.bytes_out += bytes;
  return absl::OkStatus();
}

absl::Status JobShards::Push(const PushRequest& request) {
  if (request.gradients_size() != request.slices_size()) {
    return absl::InvalidArgumentError(absl::StrCat("push carries ", request.slices_size(),
                                                   " slices but ", request.gradients_size(),
                                                   " gradients"));
  }
  absl::MutexLock lock(&mu_);
  if (state_ != RUNNING) {
    return absl::FailedPreconditionError(
        absl::StrCat("job ", job_id_, " is ", JobState_Name(state_), "; pushes are closed"));
  }
  // Check everything first: a bad request must change nothing.
  std::vector<Range*> ranges;
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    PETREL_ASSIGN_OR_RETURN(Range * range, FindRange(slice));
    const std::string& bytes = request.gradients(i);
    const int64_t expected = (slice.end() - slice.begin()) * sizeof(float);
    if (static_cast<int64_t>(bytes.size()) != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          "gradient for ", slice.table(), "[", slice.begin(), ", ", slice.end(), ") has ",
          bytes.size(), " bytes; expected ", expected, " (", expected / 4, " float32)"));
    }
    absl::Span<const float> gradient = BytesAsFloats(bytes);
    for (size_t j = 0; j < gradient.size(); ++j) {
      if (!std::isfinite(gradient[j])) {
        return absl::InvalidArgumentError(
            absl::StrCat("gradient for ", slice.table(), " element ", slice.begin() + j, " is ",
                         gradient[j], "; refusing a non-finite gradient"));
      }
    }
    ranges.push_back(range);
  }
  int64_t bytes_in = 0;
  const int slots = optimizer_->StateSlots();
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    Range& range = *ranges[i];
    const int64_t offset = slice.begin() - range.begin;
    const int64_t count = slice.end() - slice.begin();
    optimizer_->Apply(absl::MakeSpan(range.values.data() + offset, count),
                      BytesAsFloats(request.gradients(i)),
                      absl::MakeSpan(range.optimizer_state.data() + offset * slots, count * slots));
    bytes_in += request.gradients(i).size();
  }
  counters_.pushes += 1;
  counters_.bytes_in += bytes_in;
  int64_t& clock = worker_clocks_[request.worker_id()];
  clock = std::max(clock, request.clock() + 1);
  return absl::OkStatus();
}

nlohmann::json JobShards::StatusJson() const {
  absl::ReaderMutexLock lock(&mu_);
  nlohmann::json shards = nlohmann::json::array();
  for (const auto& [name, table] : tables_) {
    for (const Range& range : table.ranges) {
      shards.push_back({{"table", name}, {"begin", range.begin}, {"end", range.end},
                        {"table_size", table.size}});
    }
  }
  nlohmann::json clocks = nlohmann::json::object();
  for (const auto& [worker, clock] : worker_clocks_) clocks[worker] = clock;
  return {{"job_id", job_id_},
          {"state", JobState_Name(state_)},
          {"shards", shards},
          {"worker_clocks", clocks},
          {"pulls_served", counters_.pulls.load()},
          {"pushes_served", counters_.pushes.load()},
          {"bytes_in", counters_.bytes_in.load()},
          {"bytes_out", counters_.bytes_out.load()}};
}

}  // namespace petrel::server

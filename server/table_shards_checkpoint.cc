// The tables' part of a checkpoint (server/checkpoint_file.h): every range's
// values and optimizer state and every sparse row, and restoring them.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/wire/float_bytes.h"
#include "server/table_shards.h"

namespace petrel::server {

void TableShards::SnapshotInto(ShardCheckpoint* checkpoint) const {
  for (const auto& [name, table] : tables_) {
    for (const Range& range : table.ranges) {
      RangeState* state = checkpoint->add_ranges();
      state->set_table(name);
      state->set_begin(range.begin);
      state->set_end(range.end);
      FloatsToBytes(range.values, state->mutable_values());
      state->set_state_slots(range.optimizer->StateSlots());
      FloatsToBytes(range.optimizer_state, state->mutable_optimizer_state());
    }
  }
  for (const auto& [name, shard] : sparse_) {
    SparseRowsState* state = checkpoint->add_sparse();
    state->set_table(name);
    state->set_index(shard.index);
    state->set_count(shard.count);
    state->set_dim(shard.rows->dim());
    state->set_state_slots(shard.optimizer->StateSlots());
    const int64_t floats = shard.rows->row_floats();
    std::string* keys = state->mutable_keys();
    std::string* rows = state->mutable_rows();
    keys->reserve(shard.rows->rows() * sizeof(uint64_t));
    rows->reserve(shard.rows->rows() * floats * sizeof(float));
    shard.rows->ForEachRow([&](uint64_t key, const float* row) {
      keys->append(reinterpret_cast<const char*>(&key), sizeof(key));
      rows->append(reinterpret_cast<const char*>(row), floats * sizeof(float));
    });
  }
}

absl::Status TableShards::Restore(const ShardCheckpoint& checkpoint) {
  auto mismatch = [&](const std::string& what) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint of ", checkpoint.job_id(), " at clock ", checkpoint.clock(), " from ",
        checkpoint.server_id(), " does not fit job ", job_id_, " on ", server_id_, ": ", what));
  };
  // Check everything before changing anything.
  size_t held_ranges = 0;
  for (const auto& [name, table] : tables_) held_ranges += table.ranges.size();
  if (static_cast<size_t>(checkpoint.ranges_size()) != held_ranges) {
    return mismatch(absl::StrCat(checkpoint.ranges_size(), " dense ranges saved, ", held_ranges,
                                 " held here"));
  }
  std::vector<Range*> targets;
  for (const RangeState& state : checkpoint.ranges()) {
    auto table = tables_.find(state.table());
    Range* target = nullptr;
    if (table != tables_.end()) {
      for (Range& range : table->second.ranges) {
        if (range.begin == state.begin() && range.end == state.end()) target = &range;
      }
    }
    const std::string where = absl::StrCat(state.table(), "[", state.begin(), ", ", state.end(), ")");
    if (target == nullptr) return mismatch(absl::StrCat(where, " is not held here"));
    const int64_t count = state.end() - state.begin();
    const int slots = target->optimizer->StateSlots();
    if (state.state_slots() != slots) {
      return mismatch(absl::StrCat(where, " was saved with ", state.state_slots(),
                                   " optimizer slots; this job's optimizer has ", slots));
    }
    if (static_cast<int64_t>(state.values().size()) != count * 4 ||
        static_cast<int64_t>(state.optimizer_state().size()) != count * slots * 4) {
      return mismatch(absl::StrCat(where, " has the wrong number of bytes"));
    }
    targets.push_back(target);
  }
  if (static_cast<size_t>(checkpoint.sparse_size()) != sparse_.size()) {
    return mismatch(absl::StrCat(checkpoint.sparse_size(), " sparse shards saved, ",
                                 sparse_.size(), " held here"));
  }
  for (const SparseRowsState& state : checkpoint.sparse()) {
    auto shard = sparse_.find(state.table());
    if (shard == sparse_.end() || shard->second.index != state.index() ||
        shard->second.count != state.count()) {
      return mismatch(absl::StrCat("sparse shard ", state.index(), " of ", state.count(), " of ",
                                   state.table(), " is not held here"));
    }
    const int64_t floats = shard->second.rows->row_floats();
    if (state.dim() != shard->second.rows->dim() ||
        state.state_slots() != shard->second.optimizer->StateSlots() ||
        state.keys().size() % sizeof(uint64_t) != 0 ||
        static_cast<int64_t>(state.rows().size()) !=
            static_cast<int64_t>(state.keys().size() / sizeof(uint64_t)) * floats * 4) {
      return mismatch(absl::StrCat("sparse table ", state.table(),
                                   " was saved with another dim, optimizer or size"));
    }
  }

  for (int i = 0; i < checkpoint.ranges_size(); ++i) {
    const RangeState& state = checkpoint.ranges(i);
    std::memcpy(targets[i]->values.data(), state.values().data(), state.values().size());
    if (state.optimizer_state().empty()) continue;  // an optimizer without state (sgd)
    std::memcpy(targets[i]->optimizer_state.data(), state.optimizer_state().data(),
                state.optimizer_state().size());
  }
  for (const SparseRowsState& state : checkpoint.sparse()) {
    SparseShardState& shard = sparse_.at(state.table());
    const int64_t floats = shard.rows->row_floats();
    const uint64_t* keys = reinterpret_cast<const uint64_t*>(state.keys().data());
    const float* rows = reinterpret_cast<const float*>(state.rows().data());
    const size_t n = state.keys().size() / sizeof(uint64_t);
    for (size_t k = 0; k < n; ++k) {
      std::memcpy(shard.rows->FindOrCreate(keys[k]), rows + k * floats, floats * sizeof(float));
    }
  }
  return absl::OkStatus();
}

}  // namespace petrel::server

// Building the shards, finding what a request names, serving pulls and
// pages of sparse rows. Applying gradients: table_shards_apply.cc;
// checkpoints: table_shards_checkpoint.cc.
#include "server/table_shards.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/wire/float_bytes.h"
#include "common/jobspec/job_validation.h"
#include "common/jobspec/model_tables.h"
#include "common/jobspec/partition.h"
#include "common/rpc/shard_map_epoch.h"
#include "common/status_macros.h"
#include "server/initializer.h"
#include "server/sparse_apply.h"

namespace petrel::server {
namespace {

// A page stays well under kMaxMessageBytes (common/rpc.h) whatever the dim.
constexpr int64_t kMaxPageBytes = 16 << 20;

}  // namespace

absl::StatusOr<std::unique_ptr<TableShards>> TableShards::Create(const JobSpec& spec,
                                                                 const ShardMap& map,
                                                                 const std::string& job_id,
                                                                 const std::string& server_id,
                                                                 int group, bool bsp) {
  auto shards = std::unique_ptr<TableShards>(new TableShards(job_id, server_id));
  const uint64_t seed = spec.training().seed();
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
      return absl::InvalidArgumentError(absl::StrCat(
          "shard map of job ", job_id, " places unknown table ", placed.table()));
    }
    const int64_t table_size = TableSize(*table_it);
    if (placed.begin() < 0 || placed.end() > table_size || placed.begin() >= placed.end()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shard map of job ", job_id, " places [", placed.begin(), ", ", placed.end(), ") of ",
          placed.table(), ", a table of size ", table_size));
    }
    Range range;
    range.begin = placed.begin();
    range.end = placed.end();
    range.values.resize(placed.end() - placed.begin());
    PETREL_RETURN_IF_ERROR(InitializeRange(*table_it, seed, placed.begin(),
                                           absl::MakeSpan(range.values)));
    range.optimizer = shards->tables_[placed.table()].optimizer.get();
    range.optimizer_state.assign(range.values.size() * range.optimizer->StateSlots(), 0.0f);
    if (bsp) range.bsp_sum.assign(range.values.size(), 0.0f);
    shards->tables_[placed.table()].ranges.push_back(std::move(range));
  }
  for (const SparseShard& placed : map.sparse_shards()) {
    if (placed.group() != group) continue;
    auto table_it = std::find_if(
        map.sparse_tables().begin(), map.sparse_tables().end(),
        [&](const SparseTable& t) { return t.name() == placed.table(); });
    if (table_it == map.sparse_tables().end() || table_it->dim() <= 0 || placed.count() <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "shard map of job ", job_id, " places a bad sparse shard of ", placed.table()));
    }
    std::vector<float> probe(table_it->dim());  // refuses an unknown initializer now
    PETREL_RETURN_IF_ERROR(InitializeSparseRow(*table_it, seed, 0, absl::MakeSpan(probe)));
    TableShards::SparseShardState& state = shards->sparse_[placed.table()];
    state.index = placed.index();
    state.count = placed.count();
    PETREL_ASSIGN_OR_RETURN(state.optimizer, CreateOptimizer(OptimizerFor(spec, placed.table())));
    state.rows = std::make_unique<SparseRows>(*table_it, seed, state.optimizer->StateSlots());
  }
  for (auto& [name, table] : shards->tables_) {
    std::sort(table.ranges.begin(), table.ranges.end(),
              [](const Range& a, const Range& b) { return a.begin < b.begin; });
  }
  return shards;
}

absl::StatusOr<const TableShards::Range*> TableShards::FindRange(const Slice& slice) const {
  auto table_it = tables_.find(slice.table());
  if (table_it == tables_.end()) {
    return absl::NotFoundError(
        absl::StrCat("job ", job_id_, " has no table \"", slice.table(), "\""));
  }
  const Table& table = table_it->second;
  if (slice.begin() < 0 || slice.end() > table.size || slice.begin() >= slice.end()) {
    return absl::OutOfRangeError(absl::StrCat("slice [", slice.begin(), ", ", slice.end(),
                                              ") is outside table ", slice.table(), " of size ",
                                              table.size, " (or empty)"));
  }
  for (const Range& range : table.ranges) {
    if (range.begin <= slice.begin() && slice.end() <= range.end) return &range;
  }
  std::string held;
  for (const Range& range : table.ranges) {
    absl::StrAppend(&held, held.empty() ? "" : ", ", "[", range.begin, ", ", range.end, ")");
  }
  return StaleShardMapError(absl::StrCat(
      server_id_, " does not hold [", slice.begin(), ", ", slice.end(), ") of ", slice.table(),
      " (it holds ", held.empty() ? "nothing" : held, ")"));
}

TableShards::Range& TableShards::HeldRange(const Slice& slice) {
  return const_cast<Range&>(**FindRange(slice));
}

absl::StatusOr<const TableShards::SparseShardState*> TableShards::FindSparse(
    const std::string& table, absl::string_view key_bytes,
    absl::Span<const uint64_t>* keys) const {
  auto it = sparse_.find(table);
  if (it == sparse_.end()) {
    return absl::NotFoundError(absl::StrCat("job ", job_id_, " has no sparse table \"", table,
                                            "\" on ", server_id_));
  }
  if (key_bytes.size() % sizeof(uint64_t) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "keys of ", table, " have ", key_bytes.size(), " bytes, not a whole number of uint64"));
  }
  // Aligned: a std::string's storage, or a key field DecodePush viewed or
  // gathered at a multiple of 8.
  *keys = absl::MakeConstSpan(reinterpret_cast<const uint64_t*>(key_bytes.data()),
                              key_bytes.size() / sizeof(uint64_t));
  const SparseShardState& shard = it->second;
  for (uint64_t key : *keys) {
    if (SparseShardOf(key, shard.count) != shard.index) {
      return StaleShardMapError(
          absl::StrCat("key ", key, " of ", table, " belongs to shard ",
                       SparseShardOf(key, shard.count), ", not to ", server_id_, " (shard ",
                       shard.index, ")"));
    }
  }
  if (const std::optional<uint64_t> key = FirstRepeatedKey(*keys)) {
    return absl::InvalidArgumentError(
        absl::StrCat("key ", *key, " of ", table, " appears twice in one request"));
  }
  return &shard;
}

absl::Status TableShards::CheckPull(const PullRequest& request) const {
  for (const Slice& slice : request.slices()) {
    PETREL_RETURN_IF_ERROR(FindRange(slice).status());
  }
  for (const SparseSlice& slice : request.sparse()) {
    absl::Span<const uint64_t> keys;
    PETREL_RETURN_IF_ERROR(FindSparse(slice.table(), slice.keys(), &keys).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> TableShards::Serve(const PullRequest& request,
                                           PullResponse* response) const {
  std::vector<std::pair<const SparseShardState*, absl::Span<const uint64_t>>> sparse;
  for (const SparseSlice& slice : request.sparse()) {
    absl::Span<const uint64_t> keys;
    PETREL_ASSIGN_OR_RETURN(const SparseShardState* shard,
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
  return bytes;
}

std::vector<RoundAggregator::RangeLayout> TableShards::RoundLayout(const ShardMap& map) const {
  std::vector<RoundAggregator::RangeLayout> layout;
  for (int t = 0; t < map.tables_size(); ++t) {
    auto it = tables_.find(map.tables(t).name());
    if (it == tables_.end()) continue;
    for (const Range& range : it->second.ranges) {
      layout.push_back({it->first, static_cast<uint32_t>(t), range.begin, range.end});
    }
  }
  return layout;
}

absl::Status TableShards::ListSparseRows(const ListSparseRowsRequest& request,
                                         ListSparseRowsResponse* response) const {
  auto it = sparse_.find(request.table());
  if (it == sparse_.end()) {
    return absl::NotFoundError(absl::StrCat("job ", job_id_, " has no sparse table \"",
                                            request.table(), "\" on ", server_id_));
  }
  const SparseRows& rows = *it->second.rows;
  const int64_t row_bytes = sizeof(uint64_t) + sizeof(float) * int64_t{rows.dim()};
  int64_t max_rows = std::max<int64_t>(1, kMaxPageBytes / row_bytes);
  if (request.max_rows() > 0) max_rows = std::min<int64_t>(max_rows, request.max_rows());
  std::optional<uint64_t> after;
  if (request.has_after_key()) after = request.after_key();
  std::vector<uint64_t> keys;
  std::vector<float> values;
  response->set_more(rows.Page(after, max_rows, &keys, &values));
  response->set_dim(rows.dim());
  response->set_total_rows(rows.rows());
  response->set_keys(reinterpret_cast<const char*>(keys.data()), keys.size() * sizeof(uint64_t));
  response->set_rows(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return absl::OkStatus();
}

nlohmann::json TableShards::DenseJson() const {
  nlohmann::json shards = nlohmann::json::array();
  for (const auto& [name, table] : tables_) {
    for (const Range& range : table.ranges) {
      shards.push_back({{"table", name}, {"begin", range.begin}, {"end", range.end},
                        {"table_size", table.size}});
    }
  }
  return shards;
}

nlohmann::json TableShards::SparseJson() const {
  nlohmann::json sparse = nlohmann::json::array();
  for (const auto& [name, shard] : sparse_) {
    sparse.push_back({{"table", name}, {"dim", shard.rows->dim()}, {"shard", shard.index},
                      {"of", shard.count}, {"rows", shard.rows->rows()},
                      {"bytes", shard.rows->bytes()}});
  }
  return sparse;
}

}  // namespace petrel::server

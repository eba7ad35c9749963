// The parameters one server holds of one shard group of one job: the
// group's ranges of the dense tables and its shards of the sparse tables,
// with their optimizers and optimizer state. It checks pushed gradients
// against them, decodes compressed ones, applies them (one push at once, or
// a BSP clock's pushes summed in rank order) and serves pulls. It knows
// nothing of clocks, chains or waiting calls (server/job_shards.h composes
// those).
//
// Not thread-safe: JobShards serialises access under its mutex. The const
// calls only read and may run in parallel under a shared lock (pulls are
// answered that way); the others need the lock exclusively.
#ifndef PETREL_SERVER_TABLE_SHARDS_H_
#define PETREL_SERVER_TABLE_SHARDS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "common/wire/push_view.h"
#include "nlohmann/json.hpp"
#include "proto/checkpoint.pb.h"
#include "proto/coordinator.pb.h"
#include "proto/parameter.pb.h"
#include "server/optimizer.h"
#include "server/round_aggregator.h"
#include "server/sparse_rows.h"

namespace petrel::server {

class TableShards {
 public:
  // Builds and initialises the ranges and sparse shards that `map` places
  // in `group`. `bsp`: keep a sum buffer per range for BSP's clock sums.
  // `job_id` and `server_id` name this server's part in error messages.
  static absl::StatusOr<std::unique_ptr<TableShards>> Create(const JobSpec& spec,
                                                             const ShardMap& map,
                                                             const std::string& job_id,
                                                             const std::string& server_id,
                                                             int group, bool bsp);

  // A pull's slices and sparse keys are all held here (the error that says
  // why not otherwise); nothing is read.
  absl::Status CheckPull(const PullRequest& request) const;
  // Fills `response` with the values `request` names; returns the bytes
  // written. Checks everything before writing anything.
  absl::StatusOr<int64_t> Serve(const PullRequest& request, PullResponse* response) const;

  // `push` with its dense gradients decoded to float32 (its encoding says
  // how they came), once each slice is known to be held here. The decoded
  // view may be held as it is.
  absl::Status DecodeGradients(const PushView& push, PushView* decoded) const;
  // A float32 push fits these shards: every slice and key held, lengths
  // right, every gradient finite, no sparse table past its max_rows.
  absl::Status CheckGradients(const PushView& push) const;
  // Applies a checked push through the optimizers.
  void Apply(const PushView& push);
  // BSP: applies one clock's checked pushes, summed in rank order (each
  // rank's push as the parts it came in), once.
  void ApplySum(const std::vector<std::vector<PushView>>& by_rank);

  // Federated rounds: the ranges held, each with its table's index in `map`
  // as its mask stream, in the order ApplyMeanDelta takes deltas.
  std::vector<RoundAggregator::RangeLayout> RoundLayout(const ShardMap& map) const;
  // Applies each range's mean delta as the gradient -delta (with "sgd" at
  // learning rate 1 the delta lands as it is: FedAvg).
  void ApplyMeanDelta(const std::vector<RoundAggregator::RangeLayout>& layout,
                      const std::vector<std::vector<float>>& mean_delta);

  // A page of one sparse table's rows, ascending by key (export).
  absl::Status ListSparseRows(const ListSparseRowsRequest& request,
                              ListSparseRowsResponse* response) const;

  // Checkpoints (server/table_shards_checkpoint.cc): every range's values
  // and optimizer state and every sparse row, into `checkpoint`; and back.
  // Restore takes only a checkpoint with exactly the ranges and sparse
  // shards held here and the same optimizers; otherwise FAILED_PRECONDITION
  // naming the mismatch, and nothing changes.
  void SnapshotInto(ShardCheckpoint* checkpoint) const;
  absl::Status Restore(const ShardCheckpoint& checkpoint);

  // The ranges and sparse shards, for /status.
  nlohmann::json DenseJson() const;
  nlohmann::json SparseJson() const;

 private:
  struct Range {
    int64_t begin = 0;
    int64_t end = 0;
    std::vector<float> values;
    const Optimizer* optimizer = nullptr;  // its table's
    std::vector<float> optimizer_state;
    std::vector<float> bsp_sum;      // BSP: the clock's summed gradient
    int64_t sum_lo = 0, sum_hi = 0;  // the part of bsp_sum written
  };
  struct Table {
    int64_t size = 0;
    std::unique_ptr<Optimizer> optimizer;  // optimizer.tables[name], else the job's
    std::vector<Range> ranges;             // by begin
  };
  // This server's shard of one sparse table.
  struct SparseShardState {
    int index = 0;  // holds the keys k with SparseShardOf(k, count) == index
    int count = 1;
    std::unique_ptr<Optimizer> optimizer;
    std::unique_ptr<SparseRows> rows;
  };

  TableShards(std::string job_id, std::string server_id)
      : job_id_(std::move(job_id)), server_id_(std::move(server_id)) {}

  // The held range that contains `slice`, or the error that says why none does.
  absl::StatusOr<const Range*> FindRange(const Slice& slice) const;
  Range& HeldRange(const Slice& slice);  // one FindRange has found
  // The sparse shard of `table`, once `key_bytes` are checked (whole uint64s,
  // each once, all held here); the keys are returned through `keys`.
  absl::StatusOr<const SparseShardState*> FindSparse(const std::string& table,
                                                absl::string_view key_bytes,
                                                absl::Span<const uint64_t>* keys) const;

  const std::string job_id_;
  const std::string server_id_;
  std::map<std::string, Table> tables_;
  std::map<std::string, SparseShardState> sparse_;
  // A misaligned gradient's floats on their way to an optimizer
  // (table_shards_apply.cc), kept from push to push.
  std::vector<float> staging_;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_TABLE_SHARDS_H_

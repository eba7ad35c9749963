// A federated job's uploads on one server of one shard group, and the
// round's aggregate when the coordinator closes the round (docs/federated.md).
//
// Each sampled worker uploads, for every range this group holds, its
// weighted model delta as fixed-point numbers mod 2^64 (common/secure_agg.h),
// masked under secure aggregation, plus its weight. Uploads are kept per
// worker until the round closes, because only the coordinator knows which
// workers make the round (stragglers' uploads, whole or partial, are left
// out). Closing sums the contributors' uploads mod 2^64, removes the masks
// that survivors share with workers that dropped out, decodes, adds the DP
// noise and divides by the summed weight (or, in DP rounds, by the fixed
// denominator the coordinator sends: the expected participants). Pure logic: JobShards holds it
// under its lock and applies the result through the ranges' optimizers.
#ifndef PETREL_SERVER_ROUND_AGGREGATOR_H_
#define PETREL_SERVER_ROUND_AGGREGATOR_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "proto/checkpoint.pb.h"
#include "proto/parameter.pb.h"

namespace petrel::server {

class RoundAggregator {
 public:
  // One range this server holds: [begin, end) of table `table`, whose mask
  // stream is `stream` (the table's index in the shard map).
  struct RangeLayout {
    std::string table;
    uint32_t stream = 0;
    int64_t begin = 0;
    int64_t end = 0;
  };
  // Gaussian noise on the decoded sum of each element (DP): stddev, and the
  // seed that makes every replica of the group add the same noise.
  struct Noise {
    double stddev = 0;
    uint64_t seed = 0;
  };
  // The round's mean delta, per range (in the order of the layout), and the
  // summed weight it was divided by.
  struct Aggregate {
    double weight = 0;
    int contributors = 0;
    std::vector<std::vector<float>> mean_delta;
  };

  explicit RoundAggregator(std::vector<RangeLayout> ranges) : ranges_(std::move(ranges)) {}

  // Rounds before this one are closed: their uploads are refused.
  int64_t open_round() const { return open_round_; }

  // Stores a FIXED64 push: part of `request.worker_id()`'s upload for round
  // `request.clock()`, gradients[i] holding slices[i].end - begin uint64
  // LE and `weight` one uint64 LE. A retry overwrites the same bytes. Checks
  // every slice before storing anything. An upload for a closed round is
  // OUT_OF_RANGE (its worker was dropped from that round: not an error of
  // the job).
  absl::Status Add(const PushRequest& request);

  // Closes `request.round()`: the contributors' uploads must cover every
  // range (FAILED_PRECONDITION naming the worker and range otherwise, and
  // the round stays open). Every upload of this round and earlier is then
  // dropped and the next round opens. Closing the round just closed again
  // is ALREADY_EXISTS (a retried close: apply nothing).
  absl::StatusOr<Aggregate> Close(const CloseRoundRequest& request, const Noise& noise);

  // Workers with an upload (complete or not) for the open round.
  int uploads() const;

  // The ranges, in the order of Aggregate::mean_delta.
  const std::vector<RangeLayout>& layout() const { return ranges_; }

  // Every upload held and the open round, for a replica being rebuilt; and
  // taking them in. Import checks the whole state against this layout
  // first (INVALID_ARGUMENT naming the mismatch, nothing changed).
  RoundUploads Export() const;
  absl::Status Import(const RoundUploads& state);

 private:
  struct Upload {
    std::vector<std::vector<uint64_t>> values;  // per range
    std::vector<std::vector<bool>> written;     // per range, per element
    uint64_t weight = 0;
    bool has_weight = false;
  };

  // The index of the range that contains `slice`, or -1.
  int FindRange(const Slice& slice) const;
  absl::Status CheckComplete(const std::string& worker, const Upload& upload) const;

  const std::vector<RangeLayout> ranges_;
  int64_t open_round_ = 0;
  // round -> worker -> upload (a worker may upload for the open round only;
  // the map keeps a late upload for a future round from being lost).
  std::map<int64_t, std::map<std::string, Upload>> uploads_;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_ROUND_AGGREGATOR_H_

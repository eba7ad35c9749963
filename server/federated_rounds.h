// A federated job's rounds on one server of one shard group: the uploads of
// rounds not closed yet (server/round_aggregator.h does the arithmetic) and
// the job's DP noise. Closing a round yields the mean delta that JobShards
// applies through the ranges' optimizers (TableShards::ApplyMeanDelta).
//
// Not thread-safe: JobShards serialises access under its mutex.
#ifndef PETREL_SERVER_FEDERATED_ROUNDS_H_
#define PETREL_SERVER_FEDERATED_ROUNDS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/wire/push_view.h"
#include "proto/checkpoint.pb.h"
#include "proto/job.pb.h"
#include "proto/parameter.pb.h"
#include "server/round_aggregator.h"

namespace petrel::server {

class FederatedRounds {
 public:
  // `layout`: the ranges the group holds (TableShards::RoundLayout). The
  // noise added to each element of a round's decoded sum has the stddev
  // spec.dp's noise_multiplier x clip_norm (none without dp).
  FederatedRounds(const JobSpec& spec, std::vector<RoundAggregator::RangeLayout> layout);

  // A FIXED64 push: part of a worker's upload for a federated round. A copy:
  // the aggregator keeps uploads as requests (they are small next to the
  // dense pushes of the other modes).
  absl::Status Add(const PushView& push) { return aggregator_.Add(ToRequest(push)); }
  // Ends `request.round()` (RoundAggregator::Close), with the job's noise
  // seeded by the request so that every replica adds the same. A retried
  // close of the round just closed is ALREADY_EXISTS.
  absl::StatusOr<RoundAggregator::Aggregate> Close(const CloseRoundRequest& request) {
    return aggregator_.Close(request, {noise_stddev_, request.noise_seed()});
  }
  const std::vector<RoundAggregator::RangeLayout>& layout() const {
    return aggregator_.layout();
  }
  double noise_stddev() const { return noise_stddev_; }

  // Rebuilding a replica (RoundAggregator::Export / Import).
  RoundUploads Export() const { return aggregator_.Export(); }
  absl::Status Import(const RoundUploads& uploads) { return aggregator_.Import(uploads); }

 private:
  RoundAggregator aggregator_;
  double noise_stddev_ = 0;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_FEDERATED_ROUNDS_H_

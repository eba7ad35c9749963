#include "server/federated_rounds.h"

#include <utility>

namespace petrel::server {

FederatedRounds::FederatedRounds(const JobSpec& spec,
                                 std::vector<RoundAggregator::RangeLayout> layout)
    : aggregator_(std::move(layout)) {
  if (spec.has_dp()) noise_stddev_ = spec.dp().noise_multiplier() * spec.dp().clip_norm();
}

}  // namespace petrel::server

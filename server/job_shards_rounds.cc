// JobShards' part in federated rounds: taking uploads and closing rounds
// (server/round_aggregator.h does the arithmetic).
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/job_shards.h"
#include "server/parallel_apply.h"
#include "spdlog/spdlog.h"

namespace petrel::server {

void JobShards::InitRounds(const JobSpec& spec, const ShardMap& map) {
  std::vector<RoundAggregator::RangeLayout> layout;
  for (int t = 0; t < map.tables_size(); ++t) {
    auto it = tables_.find(map.tables(t).name());
    if (it == tables_.end()) continue;
    for (const Range& range : it->second.ranges) {
      layout.push_back({it->first, static_cast<uint32_t>(t), range.begin, range.end});
    }
  }
  rounds_ = std::make_unique<RoundAggregator>(std::move(layout));
  if (spec.has_dp()) dp_noise_stddev_ = spec.dp().noise_multiplier() * spec.dp().clip_norm();
}

absl::Status JobShards::AddRoundUpload(const PushView& push) {
  if (rounds_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "FIXED64 pushes are uploads of federated rounds; job ", job_id_, " is not federated"));
  }
  // A copy: the aggregator keeps uploads as requests (they are small next
  // to the dense pushes of the other modes).
  PETREL_RETURN_IF_ERROR(rounds_->Add(ToRequest(push)));
  counters_.pushes += 1;
  for (absl::string_view bytes : push.gradients) counters_.bytes_in += bytes.size();
  return absl::OkStatus();
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
  if (awaiting_install_) return RebuildingError();
  const absl::Time start = absl::Now();
  absl::StatusOr<RoundAggregator::Aggregate> aggregate =
      rounds_->Close(request, {dp_noise_stddev_, request.noise_seed()});
  if (absl::IsAlreadyExists(aggregate.status())) return absl::OkStatus();  // a retried close
  PETREL_RETURN_IF_ERROR(aggregate.status());
  // The optimizer descends: the mean delta is the negative gradient (with
  // "sgd" at learning rate 1 the round's average lands as it is: FedAvg).
  std::vector<float> gradient;
  for (size_t i = 0; i < rounds_->layout().size(); ++i) {
    const RoundAggregator::RangeLayout& held = rounds_->layout()[i];
    Slice slice;
    slice.set_table(held.table);
    slice.set_begin(held.begin);
    slice.set_end(held.end);
    Range& range = **FindRange(slice);  // the layout was built from these ranges
    const std::vector<float>& delta = aggregate->mean_delta[i];
    gradient.resize(delta.size());
    for (size_t k = 0; k < delta.size(); ++k) gradient[k] = -delta[k];
    ApplyInParallel(*range.optimizer, absl::MakeSpan(range.values), gradient,
                    absl::MakeSpan(range.optimizer_state));
  }
  counters_.apply_nanos += absl::ToInt64Nanoseconds(absl::Now() - start);
  spdlog::info("job {} group {}: round {} applied ({} contributors, weight {:.0f}, {} masks "
               "of dropped workers removed)",
               job_id_, group_, request.round(), aggregate->contributors, aggregate->weight,
               request.corrections_size());
  return absl::OkStatus();
}

}  // namespace petrel::server

// The push path, top to bottom: JobShards::Push and what it calls, in the
// order it calls them. A push is refused as a whole or taken; taken, it is
// applied at once, held for its BSP clock, or deferred past a checkpoint
// cut (server/clock_buffer.h), and the pulls it lets through are answered.
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "server/job_shards.h"

namespace petrel::server {

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
    if (chain_.awaiting_state()) return chain_.RebuildingError();
    PETREL_ASSIGN_OR_RETURN(const int rank, gate_.RankOf(request.worker_id()));
    if (departed_[rank]) {
      // The coordinator took this worker out (it went silent); its daemon
      // starts a new stint when it is given the rank back. Not a job error.
      return absl::AbortedError(absl::StrCat(request.worker_id(), " departed from job ", job_id_,
                                             " after missing heartbeats; its trainer stops"));
    }
    if (request.encoding() == FIXED64) {
      PETREL_RETURN_IF_ERROR(AddRoundUpload(push));
      if (forward_to != nullptr) *forward_to = chain_.NextForPush();
      return absl::OkStatus();
    }
    const int64_t clock = request.clock();
    const int part = request.part(), parts = request.parts();
    if (request.leave()) {
      gate_.Leave(rank);
    } else if (gate_.AlreadyPushed(rank, clock) || buffer_.SeenPart(rank, clock, part, parts)) {
      // A retry of what is already here: acknowledged, not applied again.
    } else {
      const int64_t wire_bytes = PayloadBytes(push);  // as they came over the wire
      // Compressed gradients become float32 before anything looks at them.
      if (request.encoding() != FLOAT32) {
        PushView decoded;
        PETREL_RETURN_IF_ERROR(tables_->DecodeGradients(push, &decoded));
        push = std::move(decoded);
      }
      // Check everything first: a bad request must change nothing.
      PETREL_RETURN_IF_ERROR(tables_->CheckGradients(push));
      PETREL_RETURN_IF_ERROR(gate_.CheckPush(rank, clock));
      PETREL_RETURN_IF_ERROR(buffer_.CheckPart(rank, clock, part, parts));
      // BSP holds every push for its clock; SSP/async hold those past the
      // next cut. A held view keeps its bytes (no copy on the raw path).
      if (!buffer_.Hold(rank, &push)) ApplyNow(push);
      if (buffer_.RecordPart(rank, clock, part, parts)) {
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
    chain_.PushTaken();
    if (forward_to != nullptr) *forward_to = chain_.NextForPush();
  }
  for (auto& callback : released) callback();
  return absl::OkStatus();
}

absl::Status JobShards::AddRoundUpload(const PushView& push) {
  if (rounds_ == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "FIXED64 pushes are uploads of federated rounds; job ", job_id_, " is not federated"));
  }
  PETREL_RETURN_IF_ERROR(rounds_->Add(push));
  counters_.pushes += 1;
  for (absl::string_view bytes : push.gradients) counters_.bytes_in += bytes.size();
  return absl::OkStatus();
}

void JobShards::ApplyNow(const PushView& push) {
  const absl::Time start = absl::Now();
  tables_->Apply(push);
  counters_.apply_nanos += absl::ToInt64Nanoseconds(absl::Now() - start);
}

void JobShards::ApplyCompleteClocks() {
  while (buffer_.holds_clocks()) {
    std::optional<ClockBuffer::Clock> complete = buffer_.TakeCompleteClock(gate_.MinClock());
    if (!complete.has_value()) break;
    tables_->ApplySum(complete->by_rank);
    // Every clock up to this one is in: a consistent cut after it.
    if (buffer_.CutAfter(complete->clock)) MaybeCheckpoint(complete->clock + 1);
  }
}

void JobShards::TakeDueCuts() {
  while (buffer_.cuts() && buffer_.CutDue(gate_.MinClock())) {
    // Every worker still in the clock set has pushed every clock before the
    // cut, and nothing from the cut on has been applied: a consistent cut.
    MaybeCheckpoint(buffer_.next_cut());
    const std::vector<PushView> due = buffer_.PassCut();
    const absl::Time start = absl::Now();
    for (const PushView& push : due) tables_->Apply(push);
    counters_.apply_nanos += absl::ToInt64Nanoseconds(absl::Now() - start);
    if (gate_.MinClock() == std::numeric_limits<int64_t>::max()) break;  // everyone left
  }
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

}  // namespace petrel::server

#include "tools/bench/apply_cases.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "common/wire/float_bytes.h"
#include "common/jobspec/model_tables.h"
#include "common/jobspec/partition.h"
#include "common/status_macros.h"
#include "server/job_shards.h"
#include "tools/bench/yardsticks.h"

namespace petrel::bench {

absl::StatusOr<CaseResult> ApplyCase(const std::string& optimizer, int64_t floats, int rounds,
                                     const std::string& size_tag) {
  JobAssignment assignment;
  assignment.set_job_id("bench-apply");
  assignment.set_state(RUNNING);
  JobSpec* spec = assignment.mutable_spec();
  spec->mutable_optimizer()->set_type(optimizer);
  spec->mutable_optimizer()->set_learning_rate(1e-3f);
  spec->mutable_optimizer()->set_beta1(0.9f);
  spec->mutable_optimizer()->set_beta2(0.999f);
  spec->mutable_optimizer()->set_epsilon(1e-8f);
  spec->mutable_training()->set_staleness(-1);
  assignment.add_worker_ids("worker-0");
  DenseTable table;
  table.set_name("weights");
  table.add_shape(floats);
  table.set_initializer("zeros");
  *assignment.mutable_shard_map()->add_tables() = table;
  PETREL_ASSIGN_OR_RETURN(std::vector<ShardRange> ranges,
                          PartitionDenseTables({table}, {{"server-0", "-"}}));
  for (const ShardRange& range : ranges) *assignment.mutable_shard_map()->add_ranges() = range;
  PETREL_ASSIGN_OR_RETURN(auto shards, server::JobShards::Create(assignment, "server-0", 0));

  PushRequest request;
  request.set_job_id("bench-apply");
  request.set_worker_id("worker-0");
  Slice* slice = request.add_slices();
  slice->set_table("weights");
  slice->set_begin(0);
  slice->set_end(floats);
  std::vector<float> gradient(floats, 1e-3f);
  FloatsToBytes(gradient, request.add_gradients());
  PETREL_RETURN_IF_ERROR(shards->Push(request));  // touches the state once

  const double traffic_per_float = optimizer == "adam" ? 28 : 12;
  std::vector<double> seconds;
  double total = 0;
  for (int i = 0; i < rounds; ++i) {
    request.set_clock(i + 1);
    const auto start = std::chrono::steady_clock::now();
    PETREL_RETURN_IF_ERROR(shards->Push(request));
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    total += seconds.back();
  }
  CaseResult result;
  result.name = absl::StrCat("apply_", optimizer, "_", size_tag);
  result.bytes_per_s = traffic_per_float * floats * rounds / total;
  result.keys_per_s = static_cast<double>(floats) * rounds / total;
  result.p50_ms = Quantile(seconds, 0.5) * 1e3;
  result.p99_ms = Quantile(seconds, 0.99) * 1e3;
  return result;
}

}  // namespace petrel::bench

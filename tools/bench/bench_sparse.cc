// Sparse table throughput on the server side: push+apply and pull of 10^7
// random uint64 keys (spread over the whole key space), dim 1 and dim 16, on
// 1 and 2 shards (one thread per shard), with Adagrad really applied. It
// drives JobShards directly, in process: the storage and the optimizer, not
// the network (tools/bench_pushpull's business).
//
//   bench_sparse [--keys N] [--batch N] [--json PATH]
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <random>
#include <thread>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/wire/float_bytes.h"
#include "common/jobspec/partition.h"
#include "nlohmann/json.hpp"
#include "server/job_shards.h"

ABSL_FLAG(int64_t, keys, 10'000'000, "keys pushed, then pulled, per case");
ABSL_FLAG(int64_t, batch, 100'000, "keys per request");
ABSL_FLAG(std::string, json, "", "also write the figures here");

namespace petrel {
namespace {

using Clock = std::chrono::steady_clock;

JobAssignment Assignment(int dim, int shards) {
  JobAssignment assignment;
  assignment.set_job_id("bench");
  assignment.set_state(RUNNING);
  JobSpec* spec = assignment.mutable_spec();
  spec->mutable_optimizer()->set_type("adagrad");
  spec->mutable_optimizer()->set_learning_rate(0.1f);
  spec->mutable_optimizer()->set_initial_accumulator_value(0.1f);
  spec->mutable_optimizer()->set_epsilon(1e-10f);
  spec->mutable_training()->set_staleness(-1);
  assignment.add_worker_ids("worker-0");
  SparseTable table;
  table.set_name("emb");
  table.set_dim(dim);
  table.set_initializer("uniform");
  table.set_init_scale(0.01f);
  std::vector<ServerEndpoint> servers;
  for (int i = 0; i < shards; ++i) servers.push_back({"server-" + std::to_string(i), "-"});
  *assignment.mutable_shard_map()->add_sparse_tables() = table;
  for (const SparseShard& shard : PartitionSparseTables({table}, servers)) {
    *assignment.mutable_shard_map()->add_sparse_shards() = shard;
  }
  return assignment;
}

struct Case {
  std::string name;
  double push_keys_per_s = 0, pull_keys_per_s = 0;
  int64_t rows = 0;
};

Case Run(int dim, int num_shards, int64_t num_keys, int64_t batch) {
  const JobAssignment assignment = Assignment(dim, num_shards);
  std::vector<std::unique_ptr<server::JobShards>> shards;
  for (int i = 0; i < num_shards; ++i) {
    shards.push_back(*server::JobShards::Create(assignment, "server-" + std::to_string(i), i));
  }
  // Each shard's keys, distinct, in request-sized batches.
  std::mt19937_64 random(dim * 1000 + num_shards);
  std::vector<std::vector<std::vector<uint64_t>>> batches(num_shards);
  for (int64_t done = 0; done < num_keys;) {
    const uint64_t key = random();
    const int s = SparseShardOf(key, num_shards);
    if (batches[s].empty() || static_cast<int64_t>(batches[s].back().size()) == batch) {
      batches[s].emplace_back();
    }
    batches[s].back().push_back(key);
    ++done;
  }
  std::vector<float> gradient(batch * dim, 0.01f);

  auto push_all = [&](int s) {
    int64_t clock = 0;
    for (const std::vector<uint64_t>& keys : batches[s]) {
      PushRequest request;
      request.set_job_id("bench");
      request.set_worker_id("worker-0");
      request.set_clock(clock++);
      SparseSlice* slice = request.add_sparse();
      slice->set_table("emb");
      slice->set_keys(std::string(reinterpret_cast<const char*>(keys.data()), keys.size() * 8));
      FloatsToBytes(absl::MakeConstSpan(gradient).first(keys.size() * dim),
                    request.add_sparse_gradients());
      if (absl::Status s2 = shards[s]->Push(request); !s2.ok()) {
        std::fprintf(stderr, "push failed: %s\n", s2.ToString().c_str());
        std::exit(1);
      }
    }
  };
  auto pull_all = [&](int s) {
    for (const std::vector<uint64_t>& keys : batches[s]) {
      PullRequest request;
      request.set_job_id("bench");
      request.set_observer(true);
      SparseSlice* slice = request.add_sparse();
      slice->set_table("emb");
      slice->set_keys(std::string(reinterpret_cast<const char*>(keys.data()), keys.size() * 8));
      PullResponse response;
      shards[s]->Pull(request, &response, [](absl::Status status) {
        if (!status.ok()) {
          std::fprintf(stderr, "pull failed: %s\n", status.ToString().c_str());
          std::exit(1);
        }
      });
    }
  };
  auto timed = [&](auto work) {
    const auto start = Clock::now();
    std::vector<std::thread> threads;
    for (int s = 0; s < num_shards; ++s) threads.emplace_back(work, s);
    for (std::thread& t : threads) t.join();
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  Case result;
  result.name = "sparse_dim" + std::to_string(dim) + "_s" + std::to_string(num_shards);
  result.push_keys_per_s = num_keys / timed(push_all);
  result.pull_keys_per_s = num_keys / timed(pull_all);
  for (auto& shard : shards) {
    result.rows += shard->StatusJson()["sparse_tables"][0]["rows"].get<int64_t>();
  }
  return result;
}

}  // namespace
}  // namespace petrel

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const int64_t keys = absl::GetFlag(FLAGS_keys), batch = absl::GetFlag(FLAGS_batch);
  std::printf("%-18s %16s %16s %12s\n", "case", "push+apply key/s", "pull key/s", "rows");
  nlohmann::json cases = nlohmann::json::array();
  for (int dim : {1, 16}) {
    for (int shards : {1, 2}) {
      petrel::Case c = petrel::Run(dim, shards, keys, batch);
      std::printf("%-18s %16.0f %16.0f %12ld\n", c.name.c_str(), c.push_keys_per_s,
                  c.pull_keys_per_s, static_cast<long>(c.rows));
      std::fflush(stdout);
      cases.push_back({{"name", c.name}, {"push_apply_keys_per_s", c.push_keys_per_s},
                       {"pull_keys_per_s", c.pull_keys_per_s}, {"rows", c.rows}});
    }
  }
  if (!absl::GetFlag(FLAGS_json).empty()) {
    std::ofstream(absl::GetFlag(FLAGS_json))
        << nlohmann::json({{"keys", keys}, {"batch", batch}, {"optimizer", "adagrad"},
                           {"cases", cases}}).dump(2) << "\n";
  }
  return 0;
}

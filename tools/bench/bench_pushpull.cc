// Data-path benchmark: push, pull and apply against real petrel-server
// processes on loopback, next to the yardsticks measured in the same run
// (raw TCP between two processes, memcpy). See docs/performance.md.
//
//   bench_pushpull [--rounds N] [--steps N] [--sparse_batch N] [--json PATH]
//                  [--dense_only | --sparse_only]
//
// Cases (suffix _s1/_s2: that many server processes):
//   dense_push_1e7, dense_pull_1e7    one dense table of 10^7 float32, whole
//   dense_pushpull_2e5                the Fashion-MNIST MLP's 203,530 floats:
//                                     pull everything then push everything, as
//                                     one training step does; latency per step
//   sparse_push_1e7, sparse_pull_1e7  10^7 random keys of a dim-1 sparse
//                                     table (Adagrad), in requests of
//                                     --sparse_batch keys
//   apply_sgd_1e7, apply_adam_1e7     the server's apply of one push of 10^7
//                                     floats, in process
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "common/daemon_util.h"
#include "tools/bench/apply_cases.h"
#include "tools/bench/bench_cluster.h"
#include "tools/bench/yardsticks.h"

ABSL_FLAG(bool, dense_only, false, "only the dense 10^7 cases (for tuning)");
ABSL_FLAG(bool, sparse_only, false, "only the sparse cases (for tuning)");
ABSL_FLAG(int, rounds, 10, "timed rounds of each 10^7 dense case");
ABSL_FLAG(int, steps, 300, "timed steps of dense_pushpull_2e5");
ABSL_FLAG(int64_t, dense_floats, 10'000'000, "floats of the dense table (a multiple of 10)");
ABSL_FLAG(int64_t, sparse_keys, 10'000'000, "keys of the sparse cases");
ABSL_FLAG(int64_t, sparse_batch, 1'000'000, "keys per sparse request");
ABSL_FLAG(std::string, json, "", "also write the figures here");
ABSL_FLAG(int64_t, chunk_bytes, petrel::worker::PsClientOptions().chunk_bytes,
          "the client's largest request (PsClientOptions::chunk_bytes)");
ABSL_FLAG(int, chunks_in_flight, petrel::worker::PsClientOptions().chunks_in_flight,
          "requests outstanding per server (PsClientOptions::chunks_in_flight)");

namespace petrel::bench {
namespace {

using Clock = std::chrono::steady_clock;
// "1e7" for 10^7, else the number itself: the size part of a case's name.
std::string SizeTag(int64_t n) {
  int exponent = 0;
  int64_t m = n;
  while (m >= 10 && m % 10 == 0) {
    m /= 10;
    ++exponent;
  }
  return m == 1 && exponent > 0 ? absl::StrCat("1e", exponent) : absl::StrCat(n);
}

worker::PsClientOptions ClientOptions() {
  worker::PsClientOptions options;
  options.chunk_bytes = absl::GetFlag(FLAGS_chunk_bytes);
  options.chunks_in_flight = absl::GetFlag(FLAGS_chunks_in_flight);
  return options;
}

double Since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

[[noreturn]] void Die(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "bench_pushpull: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

void Check(const absl::Status& status, const std::string& what) {
  if (!status.ok()) Die(what, status);
}

// Times `rounds` calls of `call`, each moving `bytes` and `keys`.
template <typename Call>
CaseResult Timed(const std::string& name, int rounds, double bytes, double keys, Call call) {
  std::vector<double> seconds;
  for (int i = 0; i < rounds; ++i) {
    const auto start = Clock::now();
    call(i);
    seconds.push_back(Since(start));
  }
  double total = 0;
  for (double s : seconds) total += s;
  CaseResult result;
  result.name = name;
  result.bytes_per_s = bytes * rounds / total;
  result.keys_per_s = keys * rounds / total;
  result.p50_ms = Quantile(seconds, 0.5) * 1e3;
  result.p99_ms = Quantile(seconds, 0.99) * 1e3;
  return result;
}

void DenseCases(int servers, int64_t dense_floats, int rounds, std::vector<CaseResult>* cases) {
  auto cluster = BenchCluster::Start(servers);
  if (!cluster.ok()) Die("starting the cluster", cluster.status());
  auto ps = (*cluster)->StartJob(DenseTableJob(dense_floats, "sgd"), ClientOptions());
  if (!ps.ok()) Die("starting the dense job", ps.status());
  std::vector<std::vector<float>> tables;
  Check((*ps)->Pull(0, &tables), "dense pull");  // sizes the buffers, warms up
  std::vector<std::vector<float>> gradients = tables;
  for (auto& g : gradients) std::fill(g.begin(), g.end(), 1e-3f);
  Check((*ps)->Push(0, gradients), "dense push");
  const double floats = dense_floats + 10;  // the table and its bias
  const std::string suffix = absl::StrCat("_", SizeTag(dense_floats), "_s", servers);
  cases->push_back(Timed("dense_push" + suffix, rounds, floats * 4, floats, [&](int i) {
    Check((*ps)->Push(i + 1, gradients), "dense push");
  }));
  cases->push_back(Timed("dense_pull" + suffix, rounds, floats * 4, floats, [&](int i) {
    Check((*ps)->Pull(i + 1, &tables), "dense pull");
  }));
  (*cluster)->EndJob(ps->get());
}

void TrainingStepCase(int servers, int steps, std::vector<CaseResult>* cases) {
  auto cluster = BenchCluster::Start(servers);
  if (!cluster.ok()) Die("starting the cluster", cluster.status());
  auto ps = (*cluster)->StartJob(MlpJob(), ClientOptions());
  if (!ps.ok()) Die("starting the MLP job", ps.status());
  std::vector<std::vector<float>> tables;
  Check((*ps)->Pull(0, &tables), "MLP pull");
  std::vector<std::vector<float>> gradients = tables;
  for (auto& g : gradients) std::fill(g.begin(), g.end(), 1e-4f);
  double floats = 0;
  for (const auto& t : tables) floats += t.size();
  constexpr int kWarmUp = 20;
  for (int i = 0; i < kWarmUp; ++i) Check((*ps)->Push(i, gradients), "MLP push");
  cases->push_back(Timed(absl::StrCat("dense_pushpull_2e5_s", servers), steps, 2 * floats * 4,
                         2 * floats, [&](int i) {
                           Check((*ps)->Pull(kWarmUp + i, &tables), "MLP pull");
                           Check((*ps)->Push(kWarmUp + i, gradients), "MLP push");
                         }));
  (*cluster)->EndJob(ps->get());
}

void SparseCases(int servers, int64_t num_keys, int64_t batch, std::vector<CaseResult>* cases) {
  const std::string scratch =
      absl::StrCat(std::filesystem::temp_directory_path().string(), "/petrel-bench-", getpid());
  std::filesystem::create_directories(scratch);
  auto spec = SparseJob(scratch);
  if (!spec.ok()) Die("writing the sparse job's files", spec.status());
  auto cluster = BenchCluster::Start(servers);
  if (!cluster.ok()) Die("starting the cluster", cluster.status());
  auto ps = (*cluster)->StartJob(*spec, ClientOptions());
  if (!ps.ok()) Die("starting the sparse job", ps.status());

  // Distinct random keys below the feature space, in request-sized batches.
  std::mt19937_64 random(servers);
  std::uniform_int_distribution<uint64_t> key(0, spec->model().input_dim() - 1);
  std::vector<worker::SparseStep> steps((num_keys + batch - 1) / batch);
  for (int64_t i = 0; i < num_keys; ++i) {
    worker::SparseStep& step = steps[i / batch];
    step.keys.resize(1);
    step.keys[0].push_back(key(random));
  }
  for (auto& step : steps) {
    std::sort(step.keys[0].begin(), step.keys[0].end());
    step.keys[0].erase(std::unique(step.keys[0].begin(), step.keys[0].end()), step.keys[0].end());
    step.rows = {std::vector<float>(step.keys[0].size(), 1e-3f)};
  }
  std::vector<std::vector<float>> dense = {{0.0f}};
  std::vector<std::vector<float>> tables;
  const double keys_per_round = static_cast<double>(num_keys) / steps.size();
  const std::string suffix = absl::StrCat("_", SizeTag(num_keys), "_s", servers);
  // Push first: it creates the rows the pulls then read.
  cases->push_back(Timed("sparse_push" + suffix, steps.size(), keys_per_round * 12,
                         keys_per_round, [&](int i) {
                           Check((*ps)->Push(i, dense, &steps[i]), "sparse push");
                         }));
  cases->push_back(Timed("sparse_pull" + suffix, steps.size(), keys_per_round * 12,
                         keys_per_round, [&](int i) {
                           Check((*ps)->Pull(i, &tables, &steps[i]), "sparse pull");
                         }));
  (*cluster)->EndJob(ps->get());
  std::filesystem::remove_all(scratch);
}

void Print(const CaseResult& c, double tcp, double memcpy_traffic) {
  const bool apply = c.name.rfind("apply_", 0) == 0;
  std::printf("%-22s %10.1f %12.0f %9.2f %9.2f %8.2f %10s\n", c.name.c_str(),
              c.bytes_per_s / 1e6, c.keys_per_s, c.p50_ms, c.p99_ms,
              apply ? c.bytes_per_s / memcpy_traffic : c.bytes_per_s / tcp,
              apply ? "(memcpy)" : absl::StrFormat("%.1f", tcp / 1e6).c_str());
  std::fflush(stdout);
}

}  // namespace
}  // namespace petrel::bench

int main(int argc, char** argv) {
  using namespace petrel::bench;
  absl::ParseCommandLine(argc, argv);
  petrel::KeepFreedMemoryForReuse();  // as petrel-worker does
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const int64_t dense_floats = absl::GetFlag(FLAGS_dense_floats);
  if (dense_floats < 10 || dense_floats % 10 != 0) {
    std::fprintf(stderr, "bench_pushpull: --dense_floats must be a positive multiple of 10\n");
    return 2;
  }

  // Yardsticks. Raw TCP moves the same bytes per round as a dense
  // push, and is measured again right before each group of cases: the
  // machine's speed drifts, and a ratio is only fair against a figure taken
  // at the same time.
  std::vector<double> tcp_figures;
  auto measure_tcp = [&] {
    auto tcp_rounds = RawTcpRounds(dense_floats * 4, 4 << 20, rounds + 2);
    if (!tcp_rounds.ok()) Die("raw TCP yardstick", tcp_rounds.status());
    tcp_rounds->erase(tcp_rounds->begin(), tcp_rounds->begin() + 2);  // warm-up
    double total = 0;
    for (double s : *tcp_rounds) total += s;
    tcp_figures.push_back(dense_floats * 4.0 * tcp_rounds->size() / total);
    return tcp_figures.back();
  };
  const double memcpy_rate = MemcpyBytesPerSecond(dense_floats * 4, 20);
  // memcpy reads and writes each byte: its traffic is twice the bytes copied,
  // which is how the apply cases count theirs.
  const double memcpy_traffic = 2 * memcpy_rate;
  std::printf("memcpy: %.1f MB/s copied (%.1f MB/s read+written)\n", memcpy_rate / 1e6,
              memcpy_traffic / 1e6);
  std::printf("ratios are to raw TCP measured just before each group (tcp MB/s column)\n\n");
  std::printf("%-22s %10s %12s %9s %9s %8s %10s\n", "case", "MB/s", "keys/s", "p50 ms", "p99 ms",
              "ratio", "tcp MB/s");

  std::vector<CaseResult> cases;
  std::vector<double> case_tcp;  // the yardstick of cases[i]
  auto run_group = [&](auto group) {
    const double tcp = measure_tcp();
    const size_t from = cases.size();
    group();
    for (size_t i = from; i < cases.size(); ++i) {
      case_tcp.push_back(tcp);
      Print(cases[i], tcp, memcpy_traffic);
    }
  };
  const bool sparse_only = absl::GetFlag(FLAGS_sparse_only);
  for (int servers : {1, 2}) {
    if (sparse_only) break;
    run_group([&] { DenseCases(servers, dense_floats, rounds, &cases); });
  }
  if (!absl::GetFlag(FLAGS_dense_only)) {
    for (int servers : {1, 2}) {
      if (sparse_only) break;
      run_group([&] { TrainingStepCase(servers, absl::GetFlag(FLAGS_steps), &cases); });
    }
    for (int servers : {1, 2}) {
      run_group([&] {
        SparseCases(servers, absl::GetFlag(FLAGS_sparse_keys), absl::GetFlag(FLAGS_sparse_batch),
                    &cases);
      });
    }
    for (const char* optimizer : {"sgd", "adam"}) {
      if (sparse_only) break;
      auto result = ApplyCase(optimizer, dense_floats, rounds, SizeTag(dense_floats));
      if (!result.ok()) Die("apply case", result.status());
      cases.push_back(*result);
      case_tcp.push_back(0);
      Print(cases.back(), 0, memcpy_traffic);
    }
  }

  std::vector<double> sorted_tcp = tcp_figures;
  const double raw_tcp = Quantile(sorted_tcp, 0.5);
  std::printf("\nraw TCP loopback: median %.1f MB/s over %zu measurements (%.1f to %.1f)\n",
              raw_tcp / 1e6, tcp_figures.size(), sorted_tcp.front() / 1e6,
              sorted_tcp.back() / 1e6);
  if (!absl::GetFlag(FLAGS_json).empty()) {
    nlohmann::json out = {{"raw_tcp_bytes_per_s", raw_tcp},
                          {"raw_tcp_measurements", tcp_figures},
                          {"memcpy_bytes_per_s", memcpy_rate},
                          {"memcpy_traffic_bytes_per_s", memcpy_traffic},
                          {"cases", nlohmann::json::array()}};
    for (size_t i = 0; i < cases.size(); ++i) {
      const CaseResult& c = cases[i];
      nlohmann::json j = {{"name", c.name},       {"bytes_per_s", c.bytes_per_s},
                          {"keys_per_s", c.keys_per_s}, {"p50_ms", c.p50_ms},
                          {"p99_ms", c.p99_ms}};
      if (c.name.rfind("apply_", 0) == 0) {
        j["ratio_to_memcpy"] = c.bytes_per_s / memcpy_traffic;
      } else {
        j["tcp_bytes_per_s"] = case_tcp[i];
        j["ratio_to_tcp"] = c.bytes_per_s / case_tcp[i];
      }
      out["cases"].push_back(j);
    }
    std::ofstream(absl::GetFlag(FLAGS_json)) << out.dump(2) << "\n";
  }
  return 0;
}

// Data-path benchmark: push, pull and apply against real petrel-server
// processes on this machine, next to the yardsticks measured in the same run
// (raw TCP and raw Unix sockets between two processes, memcpy). See
// docs/performance.md.
//
//   bench_pushpull [--transport unix|tls|plaintext] [--rounds N] [--steps N]
//                  [--sparse_batch N] [--json PATH] [--dense_only | --sparse_only]
//   bench_pushpull --check [--check_min_ratio R] [--attempts N]
//   bench_pushpull --tls_cost [--attempts N]
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
//
// --check is the data path's guard (tools/test runs it): only the dense 10^7
// cases, best of --attempts, over --transport (unix, what `petrel local`
// uses); exits 1 naming each case under --check_min_ratio of raw TCP.
// --tls_cost runs the same cases over TCP in plaintext and then with TLS and
// prints what TLS costs per GB.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <tuple>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "common/daemon/daemon_util.h"
#include "common/status_macros.h"
#include "tools/bench/apply_cases.h"
#include "tools/bench/bench_cluster.h"
#include "tools/bench/dense_bench.h"
#include "tools/bench/guard.h"
#include "tools/bench/timed.h"
#include "tools/bench/yardsticks.h"

ABSL_FLAG(bool, dense_only, false, "only the dense 10^7 cases (for tuning)");
ABSL_FLAG(bool, sparse_only, false, "only the sparse cases (for tuning)");
ABSL_FLAG(int, rounds, 10, "timed rounds of each 10^7 dense case (of each attempt)");
ABSL_FLAG(int, steps, 300, "timed steps of dense_pushpull_2e5");
ABSL_FLAG(int64_t, dense_floats, 10'000'000, "floats of the dense table (a multiple of 10)");
ABSL_FLAG(int64_t, sparse_keys, 10'000'000, "keys of the sparse cases");
ABSL_FLAG(int64_t, sparse_batch, 1'000'000, "keys per sparse request");
ABSL_FLAG(std::string, json, "", "also write the figures here");
ABSL_FLAG(int64_t, chunk_bytes, petrel::worker::PsClientOptions().chunk_bytes,
          "the client's largest request (PsClientOptions::chunk_bytes)");
ABSL_FLAG(int, chunks_in_flight, petrel::worker::PsClientOptions().chunks_in_flight,
          "requests outstanding per server (PsClientOptions::chunks_in_flight)");
ABSL_FLAG(std::string, transport, "unix",
          "how the cluster talks: unix (Unix sockets and the token, as `petrel local` does), "
          "tls (TCP, mutual TLS and the token) or plaintext (TCP, nothing)");
ABSL_FLAG(bool, check, false,
          "the guard: dense 10^7 cases only, best of --attempts; exit 1 naming each case "
          "under --check_min_ratio of raw TCP");
ABSL_FLAG(double, check_min_ratio, 0.45, "--check: the lowest passing ratio to raw TCP");
ABSL_FLAG(int, attempts, 3, "--check and --tls_cost: attempts per case, the best counts");
ABSL_FLAG(bool, tls_cost, false,
          "dense 10^7 cases over plaintext then tls (TCP both): seconds per GB of each and "
          "the difference, what TLS costs");

namespace petrel::bench {
namespace {

worker::PsClientOptions ClientOptions() {
  worker::PsClientOptions options;
  options.chunk_bytes = absl::GetFlag(FLAGS_chunk_bytes);
  options.chunks_in_flight = absl::GetFlag(FLAGS_chunks_in_flight);
  return options;
}

[[noreturn]] void Die(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "bench_pushpull: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

void Check(const absl::Status& status, const std::string& what) {
  if (!status.ok()) Die(what, status);
}

void Keep(absl::StatusOr<CaseResult> result, const std::string& what,
          std::vector<CaseResult>* cases) {
  if (!result.ok()) Die(what, result.status());
  cases->push_back(*std::move(result));
}

void DenseCases(int servers, int64_t dense_floats, int rounds, cli::LocalTransport transport,
                std::vector<CaseResult>* cases) {
  auto bench = DenseBench::Start(servers, dense_floats, transport, ClientOptions());
  if (!bench.ok()) Die("starting the dense job", bench.status());
  Keep((*bench)->Push(rounds), "dense push", cases);
  Keep((*bench)->Pull(rounds), "dense pull", cases);
}

void TrainingStepCase(int servers, int steps, cli::LocalTransport transport,
                      std::vector<CaseResult>* cases) {
  auto cluster = BenchCluster::Start(servers, transport);
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
  Keep(Timed(absl::StrCat("dense_pushpull_2e5_s", servers), steps, 2 * floats * 4, 2 * floats,
             [&](int i) -> absl::Status {
               PETREL_RETURN_IF_ERROR((*ps)->Pull(kWarmUp + i, &tables));
               return (*ps)->Push(kWarmUp + i, gradients);
             }),
       "MLP pull and push", cases);
  (*cluster)->EndJob(ps->get());
}

void SparseCases(int servers, int64_t num_keys, int64_t batch, cli::LocalTransport transport,
                 std::vector<CaseResult>* cases) {
  const std::string scratch =
      absl::StrCat(std::filesystem::temp_directory_path().string(), "/petrel-bench-", getpid());
  std::filesystem::create_directories(scratch);
  auto spec = SparseJob(scratch);
  if (!spec.ok()) Die("writing the sparse job's files", spec.status());
  auto cluster = BenchCluster::Start(servers, transport);
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
  Keep(Timed("sparse_push" + suffix, steps.size(), keys_per_round * 12, keys_per_round,
             [&](int i) { return (*ps)->Push(i, dense, &steps[i]); }),
       "sparse push", cases);
  Keep(Timed("sparse_pull" + suffix, steps.size(), keys_per_round * 12, keys_per_round,
             [&](int i) { return (*ps)->Pull(i, &tables, &steps[i]); }),
       "sparse pull", cases);
  (*cluster)->EndJob(ps->get());
  std::filesystem::remove_all(scratch);
}

// The yardsticks a group of cases is read against, measured right before it.
struct GroupYardsticks {
  double tcp = 0;
  double unix_socket = 0;
};

void Print(const CaseResult& c, const GroupYardsticks& y, double memcpy_traffic) {
  if (c.name.rfind("apply_", 0) == 0) {
    std::printf("%-22s %10.1f %12.0f %9.2f %9.2f %8.2f %10s\n", c.name.c_str(),
                c.bytes_per_s / 1e6, c.keys_per_s, c.p50_ms, c.p99_ms,
                c.bytes_per_s / memcpy_traffic, "(memcpy)");
  } else {
    std::printf("%-22s %10.1f %12.0f %9.2f %9.2f %8.2f %10.1f %8.2f %10.1f\n", c.name.c_str(),
                c.bytes_per_s / 1e6, c.keys_per_s, c.p50_ms, c.p99_ms, c.bytes_per_s / y.tcp,
                y.tcp / 1e6, c.bytes_per_s / y.unix_socket, y.unix_socket / 1e6);
  }
  std::fflush(stdout);
}

// The Options the guard modes take, from the flags.
GuardOptions GuardOptionsFromFlags(cli::LocalTransport transport) {
  GuardOptions options;
  options.dense_floats = absl::GetFlag(FLAGS_dense_floats);
  options.rounds = absl::GetFlag(FLAGS_rounds);
  options.attempts = absl::GetFlag(FLAGS_attempts);
  options.min_ratio = absl::GetFlag(FLAGS_check_min_ratio);
  options.transport = transport;
  options.client = ClientOptions();
  options.json_path = absl::GetFlag(FLAGS_json);
  return options;
}

int RunGuardMode(cli::LocalTransport transport) {
  const GuardOptions options = GuardOptionsFromFlags(transport);
  if (const absl::Status valid = ValidateGuardOptions(options); !valid.ok()) {
    std::fprintf(stderr, "bench_pushpull: %s\n", std::string(valid.message()).c_str());
    return 2;
  }
  if (absl::GetFlag(FLAGS_tls_cost)) {
    const absl::Status status = RunTlsCost(options);
    if (!status.ok()) Die("--tls_cost", status);
    return 0;
  }
  const absl::StatusOr<bool> passed = RunCheck(options);
  if (!passed.ok()) Die("--check", passed.status());
  return *passed ? 0 : 1;
}

}  // namespace
}  // namespace petrel::bench

int main(int argc, char** argv) {
  using namespace petrel::bench;
  absl::ParseCommandLine(argc, argv);
  petrel::KeepFreedMemoryForReuse();  // as petrel-worker does
  const absl::StatusOr<petrel::cli::LocalTransport> transport =
      ParseTransport(absl::GetFlag(FLAGS_transport));
  if (!transport.ok()) {
    std::fprintf(stderr, "bench_pushpull: %s\n", std::string(transport.status().message()).c_str());
    return 2;
  }
  if (absl::GetFlag(FLAGS_check) && absl::GetFlag(FLAGS_tls_cost)) {
    std::fprintf(stderr, "bench_pushpull: --check and --tls_cost are separate runs; pick one\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_check) || absl::GetFlag(FLAGS_tls_cost)) {
    return RunGuardMode(*transport);
  }
  const int rounds = absl::GetFlag(FLAGS_rounds);
  const int64_t dense_floats = absl::GetFlag(FLAGS_dense_floats);
  if (dense_floats < 10 || dense_floats % 10 != 0) {
    std::fprintf(stderr, "bench_pushpull: --dense_floats must be a positive multiple of 10\n");
    return 2;
  }
  if (rounds < 1) {
    std::fprintf(stderr, "bench_pushpull: --rounds must be at least 1, not %d\n", rounds);
    return 2;
  }

  // Yardsticks. Raw TCP and raw Unix sockets move the same bytes per round
  // as a dense push, and are measured again right before each group of
  // cases: the machine's speed drifts, and a ratio is only fair against a
  // figure taken at the same time.
  std::vector<double> tcp_figures, unix_figures;
  auto measure = [&] {
    GroupYardsticks y;
    for (auto [socket, figures, into] :
         {std::tuple(RawSocket::kTcp, &tcp_figures, &y.tcp),
          std::tuple(RawSocket::kUnix, &unix_figures, &y.unix_socket)}) {
      auto rate = RawSocketBytesPerSecond(socket, dense_floats * 4, rounds);
      if (!rate.ok()) Die("raw socket yardstick", rate.status());
      figures->push_back(*rate);
      *into = *rate;
    }
    return y;
  };
  const double memcpy_rate = MemcpyBytesPerSecond(dense_floats * 4, 20);
  // memcpy reads and writes each byte: its traffic is twice the bytes copied,
  // which is how the apply cases count theirs.
  const double memcpy_traffic = 2 * memcpy_rate;
  std::printf("cluster over %s\n", TransportName(*transport).c_str());
  std::printf("memcpy: %.1f MB/s copied (%.1f MB/s read+written)\n", memcpy_rate / 1e6,
              memcpy_traffic / 1e6);
  std::printf("ratios are to raw TCP and raw Unix sockets measured just before each group\n\n");
  std::printf("%-22s %10s %12s %9s %9s %8s %10s %8s %10s\n", "case", "MB/s", "keys/s", "p50 ms",
              "p99 ms", "/tcp", "tcp MB/s", "/unix", "unix MB/s");

  std::vector<CaseResult> cases;
  std::vector<GroupYardsticks> case_yardsticks;  // those of cases[i]
  auto run_group = [&](auto group) {
    const GroupYardsticks y = measure();
    const size_t from = cases.size();
    group();
    for (size_t i = from; i < cases.size(); ++i) {
      case_yardsticks.push_back(y);
      Print(cases[i], y, memcpy_traffic);
    }
  };
  const bool sparse_only = absl::GetFlag(FLAGS_sparse_only);
  for (int servers : {1, 2}) {
    if (sparse_only) break;
    run_group([&] { DenseCases(servers, dense_floats, rounds, *transport, &cases); });
  }
  if (!absl::GetFlag(FLAGS_dense_only)) {
    for (int servers : {1, 2}) {
      if (sparse_only) break;
      run_group(
          [&] { TrainingStepCase(servers, absl::GetFlag(FLAGS_steps), *transport, &cases); });
    }
    for (int servers : {1, 2}) {
      run_group([&] {
        SparseCases(servers, absl::GetFlag(FLAGS_sparse_keys), absl::GetFlag(FLAGS_sparse_batch),
                    *transport, &cases);
      });
    }
    for (const char* optimizer : {"sgd", "adam"}) {
      if (sparse_only) break;
      auto result = ApplyCase(optimizer, dense_floats, rounds, SizeTag(dense_floats));
      if (!result.ok()) Die("apply case", result.status());
      cases.push_back(*result);
      case_yardsticks.push_back({});
      Print(cases.back(), {}, memcpy_traffic);
    }
  }

  std::vector<double> sorted_tcp = tcp_figures, sorted_unix = unix_figures;
  const double raw_tcp = Quantile(sorted_tcp, 0.5);
  const double raw_unix = Quantile(sorted_unix, 0.5);
  std::printf("\nraw TCP loopback: median %.1f MB/s over %zu measurements (%.1f to %.1f)\n",
              raw_tcp / 1e6, tcp_figures.size(), sorted_tcp.front() / 1e6,
              sorted_tcp.back() / 1e6);
  std::printf("raw Unix sockets: median %.1f MB/s over %zu measurements (%.1f to %.1f)\n",
              raw_unix / 1e6, unix_figures.size(), sorted_unix.front() / 1e6,
              sorted_unix.back() / 1e6);
  if (!absl::GetFlag(FLAGS_json).empty()) {
    nlohmann::json out = {{"mode", "cases"},
                          {"transport", TransportName(*transport)},
                          {"raw_tcp_bytes_per_s", raw_tcp},
                          {"raw_tcp_measurements", tcp_figures},
                          {"raw_unix_bytes_per_s", raw_unix},
                          {"raw_unix_measurements", unix_figures},
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
        j["tcp_bytes_per_s"] = case_yardsticks[i].tcp;
        j["ratio_to_tcp"] = c.bytes_per_s / case_yardsticks[i].tcp;
        j["unix_bytes_per_s"] = case_yardsticks[i].unix_socket;
        j["ratio_to_unix"] = c.bytes_per_s / case_yardsticks[i].unix_socket;
      }
      out["cases"].push_back(j);
    }
    std::ofstream file(absl::GetFlag(FLAGS_json));
    file << out.dump(2) << "\n";
    if (!file) {
      std::fprintf(stderr, "bench_pushpull: cannot write --json %s\n",
                   absl::GetFlag(FLAGS_json).c_str());
      return 1;
    }
  }
  return 0;
}

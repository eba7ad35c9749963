// Writes the seed corpora of the fuzz targets that take binary input, one
// folder per target under the folder given (tests/fuzz/corpus):
//   bazel run //tests/fuzz:write_seeds -- "$PWD/tests/fuzz/corpus"
// The job-file target's seeds are YAML files copied from examples/ and
// tests/testdata/. Seeds are valid inputs that reach deep into each target;
// the fuzzer mutates from there.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/wire/float_bytes.h"
#include "common/wire/gradient_codec.h"
#include "common/jobspec/job_file.h"
#include "common/jobspec/partition.h"
#include "common/sha256.h"
#include "proto/checkpoint.pb.h"
#include "proto/coordinator.pb.h"
#include "proto/parameter.pb.h"
#include "server/replica_transfer.h"
#include "tests/fuzz/fuzz_util.h"

namespace petrel::fuzz {
namespace {

std::filesystem::path root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::filesystem::path dir = root / target;
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary);
  out.write(bytes.data(), bytes.size());
  if (!out) {
    std::perror((dir / name).c_str());
    std::exit(1);
  }
}

std::string Be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

void IdxSeeds() {
  std::string labels = std::string("\0\0\x08\x01", 4) + Be32(5) + std::string("\x01\x02\x03\x04\x05");
  std::string images = std::string("\0\0\x08\x03", 4) + Be32(2) + Be32(3) + Be32(3);
  for (int i = 0; i < 18; ++i) images.push_back(static_cast<char>(i * 13));
  Write("idx_reader_fuzzer", "labels_raw", "\0" + labels);
  Write("idx_reader_fuzzer", "labels_gzip_by_target", "\x01" + labels);
  Write("idx_reader_fuzzer", "images_raw", std::string(1, '\0') + images);
  Write("idx_reader_fuzzer", "images_gzip_by_target", "\x01" + images);
  const std::string gz =
      Gzip(reinterpret_cast<const uint8_t*>(images.data()), images.size());
  Write("idx_reader_fuzzer", "images_gzip_file", std::string(1, '\0') + gz);
}

void LibsvmSeeds() {
  const std::string text =
      "+1 1:0.5 3:1.25 10:-2 # a comment\n"
      "-1 2:1 7:3.5e-3\n"
      "\n"
      "# only a comment\n"
      "0 18446744073709551615:1\r\n"
      "1.0 4:0.25 5:1e10\n"
      "7\t1:1\t2:2\n";
  Write("libsvm_reader_fuzzer", "plain", std::string(1, '\0') + text);
  Write("libsvm_reader_fuzzer", "gzip_by_target", "\x01" + text);
  Write("libsvm_reader_fuzzer", "shard_1_of_2", "\x0a" + text);  // 2 shards, shard 1
  const std::string gz = Gzip(reinterpret_cast<const uint8_t*>(text.data()), text.size());
  Write("libsvm_reader_fuzzer", "gzip_file", std::string(1, '\0') + gz);
}

void WireSeeds() {
  PullResponse response;
  std::string floats;
  FloatsToBytes(std::vector<float>{1.5f, -2.0f, 0.25f}, &floats);
  response.add_values(floats);
  response.add_values("");
  response.add_values(std::string(64, '\x3f'));
  response.add_sparse_rows(floats);
  const std::string bytes = response.SerializeAsString();
  Write("parameter_wire_fuzzer", "whole", std::string(1, '\0') + bytes);
  Write("parameter_wire_fuzzer", "pieces_of_3", "\x02" + bytes);
  Write("parameter_wire_fuzzer", "pieces_of_1", "\x40" + bytes);
}

std::string Codec(uint8_t encoding, int16_t n, uint8_t ratio, const std::string& payload) {
  std::string out;
  out.push_back(static_cast<char>(encoding));
  out.push_back(static_cast<char>(n & 0xff));
  out.push_back(static_cast<char>((n >> 8) & 0xff));
  out.push_back(static_cast<char>(ratio));
  return out + payload;
}

void CodecSeeds() {
  const std::vector<float> gradient = {0.5f, -1.0f, 3.0e5f, -7.0e-6f, 0.0f, 100.0f, -0.125f,
                                       2.0f, 65504.0f, 1.0e-3f};
  const int16_t n = static_cast<int16_t>(gradient.size());
  std::string floats;
  FloatsToBytes(gradient, &floats);
  Write("gradient_codec_fuzzer", "float32", Codec(FLOAT32, n, 64, floats));
  std::string halves;
  EncodeHalves(FLOAT16, gradient, &halves);
  Write("gradient_codec_fuzzer", "float16", Codec(FLOAT16, n, 64, halves));
  EncodeHalves(BFLOAT16, gradient, &halves);
  Write("gradient_codec_fuzzer", "bfloat16", Codec(BFLOAT16, n, 64, halves));
  std::vector<float> residual(gradient.size(), 0.0f);
  std::string topk;
  EncodeTopK(gradient, 0.3, absl::MakeSpan(residual), &topk);
  Write("gradient_codec_fuzzer", "topk", Codec(TOPK, n, 76, topk));
}

// Keys that server-0 (shard 0 of 2) holds, as SparseSlice.keys bytes.
std::string HeldKeys(int n) {
  std::string keys;
  for (uint64_t k = 1; n > 0; ++k) {
    if (SparseShardOf(k, 2) != 0) continue;
    keys.append(reinterpret_cast<const char*>(&k), sizeof(k));
    --n;
  }
  return keys;
}

void ServiceSeeds() {
  // Record kinds, as parameter_service_fuzzer.cc reads them.
  constexpr uint8_t kPull = 0, kPush = 1, kRestore = 2, kReport = 3, kState = 4, kInstall = 6,
                    kListRows = 7;
  PullRequest pull;
  pull.set_job_id("job-1");
  pull.set_worker_id("worker-0");
  pull.set_shard_map_epoch(1);
  Slice* slice = pull.add_slices();
  slice->set_table("w");
  slice->set_begin(0);
  slice->set_end(20);
  slice = pull.add_slices();
  slice->set_table("b");
  slice->set_begin(0);
  slice->set_end(5);
  SparseSlice* sparse = pull.add_sparse();
  sparse->set_table("emb");
  sparse->set_keys(HeldKeys(3));

  PushRequest push;
  push.set_job_id("job-1");
  push.set_worker_id("worker-0");
  push.set_shard_map_epoch(1);
  *push.mutable_slices() = pull.slices();
  std::string gradient;
  FloatsToBytes(std::vector<float>(20, 0.125f), &gradient);
  push.add_gradients(gradient);
  FloatsToBytes(std::vector<float>(5, -0.5f), &gradient);
  push.add_gradients(gradient);
  *push.mutable_sparse() = pull.sparse();
  FloatsToBytes(std::vector<float>(3 * 3, 0.25f), &gradient);
  push.add_sparse_gradients(gradient);

  PushRequest half = push;
  half.set_clock(1);
  half.set_encoding(FLOAT16);
  EncodeHalves(FLOAT16, std::vector<float>(20, 0.125f), half.mutable_gradients(0));
  EncodeHalves(FLOAT16, std::vector<float>(5, -0.5f), half.mutable_gradients(1));

  PushRequest leave;
  leave.set_job_id("job-1");
  leave.set_worker_id("worker-0");
  leave.set_clock(2);
  leave.set_leave(true);

  PullRequest observer;
  observer.set_job_id("job-1");
  observer.set_observer(true);
  *observer.mutable_slices() = pull.slices();

  ShardCheckpoint checkpoint;
  checkpoint.set_job_id("job-1");
  checkpoint.set_server_id("server-0");
  checkpoint.set_clock(1);
  for (const auto& [table, begin, end] :
       std::vector<std::tuple<std::string, int, int>>{{"b", 0, 5}, {"w", 0, 20}}) {
    RangeState* range = checkpoint.add_ranges();
    range->set_table(table);
    range->set_begin(begin);
    range->set_end(end);
    FloatsToBytes(std::vector<float>(end - begin, 0.5f), range->mutable_values());
    range->set_state_slots(0);
  }
  SparseRowsState* rows = checkpoint.add_sparse();
  rows->set_table("emb");
  rows->set_index(0);
  rows->set_count(2);
  rows->set_dim(3);
  rows->set_state_slots(0);
  rows->set_keys(HeldKeys(2));
  FloatsToBytes(std::vector<float>(2 * 3, 0.75f), rows->mutable_rows());

  std::string session;
  AppendRecord(kPull, pull.SerializeAsString(), &session);
  AppendRecord(kPush, push.SerializeAsString(), &session);
  pull.set_clock(1);
  AppendRecord(kPull, pull.SerializeAsString(), &session);
  AppendRecord(kPush, half.SerializeAsString(), &session);
  AppendRecord(kPull, observer.SerializeAsString(), &session);
  AppendRecord(kReport, "\x05", &session);
  AppendRecord(kPush, leave.SerializeAsString(), &session);
  // Config bytes: sgd BSP one worker; adam staleness 1 two workers; ftrl
  // async with a row limit.
  Write("parameter_service_fuzzer", "sgd_bsp", std::string(1, '\x00') + session);
  Write("parameter_service_fuzzer", "adam_ssp_two_workers", std::string(1, '\x2a') + session);
  Write("parameter_service_fuzzer", "ftrl_async_max_rows", std::string(1, '\x5c') + session);
  std::string restore;
  AppendRecord(kRestore, checkpoint.SerializeAsString(), &restore);
  AppendRecord(kPull, observer.SerializeAsString(), &restore);
  AppendRecord(kState, "\x04", &restore);
  AppendRecord(kPull, pull.SerializeAsString(), &restore);
  Write("parameter_service_fuzzer", "restore_sgd", std::string(1, '\x00') + restore);

  // Group 1's state for server-0, which awaits it (sgd, one worker): in
  // three chunks, after one out of order; then an observer's pull of it.
  ReplicaState replica;
  ShardCheckpoint* shards = replica.mutable_shards();
  shards->set_job_id("job-1");
  shards->set_server_id("server-1");
  shards->set_clock(1);
  RangeState* range = shards->add_ranges();
  range->set_table("w");
  range->set_begin(20);
  range->set_end(30);
  FloatsToBytes(std::vector<float>(10, 0.25f), range->mutable_values());
  SparseRowsState* group_rows = shards->add_sparse();
  group_rows->set_table("emb");
  group_rows->set_index(1);
  group_rows->set_count(2);
  group_rows->set_dim(3);
  for (uint64_t k = 1, n = 0; n < 2; ++k) {
    if (SparseShardOf(k, 2) != 1) continue;
    group_rows->mutable_keys()->append(reinterpret_cast<const char*>(&k), sizeof(k));
    ++n;
  }
  FloatsToBytes(std::vector<float>(2 * 3, -0.5f), group_rows->mutable_rows());
  WorkerClock* clock = shards->add_worker_clocks();
  clock->set_worker_id("worker-0");
  clock->set_clock(1);
  const std::string state = replica.SerializeAsString();
  const std::string sha = Sha256(state);
  InstallReplicaRequest header;
  header.set_job_id("job-1");
  header.set_shard_group(1);
  const int64_t chunk = static_cast<int64_t>(state.size()) / 3 + 1;
  auto chunk_at = [&](const std::string& id, int64_t offset, absl::string_view checksum) {
    return server::MakeReplicaChunk(header, id, state, checksum, offset, chunk)
        .SerializeAsString();
  };
  PullRequest group_pull;
  group_pull.set_job_id("job-1");
  group_pull.set_observer(true);
  group_pull.set_shard_group(1);
  Slice* group_slice = group_pull.add_slices();
  group_slice->set_table("w");
  group_slice->set_begin(20);
  group_slice->set_end(30);
  std::string install;
  AppendRecord(kInstall, chunk_at("t-1", chunk, sha), &install);  // out of order: refused
  for (int64_t offset = 0; offset < static_cast<int64_t>(state.size()); offset += chunk) {
    AppendRecord(kInstall, chunk_at("t-1", offset, sha), &install);
  }
  AppendRecord(kInstall, chunk_at("t-1", 0, sha), &install);  // the installed transfer again
  AppendRecord(kPull, group_pull.SerializeAsString(), &install);
  Write("parameter_service_fuzzer", "install_replica_sgd", std::string(1, '\x00') + install);
  std::string mismatch;
  std::string wrong = sha;
  wrong[0] ^= 1;
  for (int64_t offset = 0; offset < static_cast<int64_t>(state.size()); offset += chunk) {
    AppendRecord(kInstall, chunk_at("t-2", offset, wrong), &mismatch);
  }
  AppendRecord(kPull, group_pull.SerializeAsString(), &mismatch);
  Write("parameter_service_fuzzer", "install_replica_bad_checksum",
        std::string(1, '\x00') + mismatch);

  // Export: rows pushed, then listed a page at a time, then a bad request.
  ListSparseRowsRequest list;
  list.set_job_id("job-1");
  list.set_table("emb");
  list.set_max_rows(2);
  ListSparseRowsRequest rest = list;
  rest.set_has_after_key(true);
  rest.set_after_key(0);
  rest.set_max_rows(0);
  ListSparseRowsRequest unknown = list;
  unknown.set_table("nope");
  std::string exported;
  AppendRecord(kPush, push.SerializeAsString(), &exported);
  AppendRecord(kListRows, list.SerializeAsString(), &exported);
  AppendRecord(kListRows, rest.SerializeAsString(), &exported);
  AppendRecord(kListRows, unknown.SerializeAsString(), &exported);
  Write("parameter_service_fuzzer", "export_sparse_rows", std::string(1, '\x00') + exported);
}

void CoordinatorSeeds() {
  // Record kinds, as coordinator_fuzzer.cc reads them.
  enum : uint8_t {
    kRegisterServer, kRegisterWorker, kHeartbeat, kSubmit, kGetJob, kList, kCancel,
    kShardMap, kProgress, kCluster, kTick, kStatus
  };
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      "name: seed\n"
      "model: {type: mlp, hidden: [8], input_dim: 16, num_classes: 4}\n"
      "data: {path: /nonexistent}\n"
      "optimizer: {type: adam, learning_rate: 0.01}\n"
      "training: {batch_size: 8, epochs: 1}\n"
      "cluster: {servers: 1, workers: 1}\n",
      "seed.yaml");
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    std::exit(1);
  }
  RegisterRequest server;
  server.set_host("host-a");
  server.set_grpc_address("host-a:7001");
  server.set_http_address("host-a:8001");
  server.set_pid(100);
  RegisterRequest worker = server;
  worker.set_grpc_address("host-a:7002");
  worker.set_device("cpu");
  SubmitJobRequest submit;
  *submit.mutable_spec() = *spec;
  HeartbeatRequest server_beat;
  server_beat.set_node_id("server-0");
  GateReport* gate = server_beat.add_gates();
  gate->set_job_id("job-1");
  WorkerClock* clock = gate->add_clocks();
  clock->set_worker_id("worker-0");
  clock->set_clock(3);
  gate->set_min_clock(3);
  HeartbeatRequest worker_beat;
  worker_beat.set_node_id("worker-0");
  ReportProgressRequest progress;  // empty job id: the fuzzer fills in the latest
  progress.set_worker_id("worker-0");
  progress.set_step(10);
  progress.set_train_loss(0.5f);
  progress.set_samples_per_second(100);
  progress.set_steps_per_epoch(10);
  progress.set_clock(10);
  progress.set_has_test_accuracy(true);
  progress.set_test_accuracy(0.75f);
  progress.set_finished_training(true);
  ReportProgressRequest final_report = progress;
  final_report.set_final(true);

  std::string session;
  AppendRecord(kRegisterServer, server.SerializeAsString(), &session);
  AppendRecord(kRegisterWorker, worker.SerializeAsString(), &session);
  AppendRecord(kSubmit, submit.SerializeAsString(), &session);
  AppendRecord(kHeartbeat, server_beat.SerializeAsString(), &session);
  AppendRecord(kHeartbeat, worker_beat.SerializeAsString(), &session);
  AppendRecord(kShardMap, "", &session);
  AppendRecord(kProgress, progress.SerializeAsString(), &session);
  AppendRecord(kGetJob, "", &session);
  AppendRecord(kList, "", &session);
  AppendRecord(kCluster, "", &session);
  AppendRecord(kTick, "", &session);
  AppendRecord(kStatus, "", &session);
  std::string finished = session;
  AppendRecord(kProgress, final_report.SerializeAsString(), &finished);
  AppendRecord(kGetJob, "", &finished);
  Write("coordinator_fuzzer", "train_and_finish", finished);
  std::string cancelled = session;
  AppendRecord(kCancel, "", &cancelled);
  AppendRecord(kStatus, "", &cancelled);
  Write("coordinator_fuzzer", "train_and_cancel", cancelled);
  // A job queued for want of nodes, then the nodes arrive.
  std::string queued;
  AppendRecord(kSubmit, submit.SerializeAsString(), &queued);
  AppendRecord(kGetJob, "", &queued);
  AppendRecord(kRegisterServer, server.SerializeAsString(), &queued);
  AppendRecord(kRegisterWorker, worker.SerializeAsString(), &queued);
  AppendRecord(kTick, "", &queued);
  AppendRecord(kHeartbeat, worker_beat.SerializeAsString(), &queued);
  AppendRecord(kStatus, "", &queued);
  Write("coordinator_fuzzer", "queued_then_placed", queued);
}

}  // namespace
}  // namespace petrel::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: write_seeds CORPUS_DIR\n");
    return 2;
  }
  petrel::fuzz::root = argv[1];
  petrel::fuzz::IdxSeeds();
  petrel::fuzz::LibsvmSeeds();
  petrel::fuzz::WireSeeds();
  petrel::fuzz::CodecSeeds();
  petrel::fuzz::ServiceSeeds();
  petrel::fuzz::CoordinatorSeeds();
  return 0;
}

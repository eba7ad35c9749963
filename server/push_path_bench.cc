// The server's cost of taking one pushed chunk, in process and back to
// back, so that other work on the machine affects both sides alike: the
// typed path (gRPC's protobuf parse of the received bytes, then
// JobShards::Push) against the raw one (DecodePush's views, then
// JobShards::Push), under async (applied at once) and BSP (held until the
// clock completes, here at once: one worker).
//
//   push_path_bench [--floats N] [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "common/wire/float_bytes.h"
#include "common/jobspec/partition.h"
#include "common/wire/push_wire.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "server/job_shards.h"
#include "spdlog/spdlog.h"

ABSL_FLAG(int64_t, floats, 1 << 20, "floats per pushed chunk (4 MiB: PsClient's chunk)");
ABSL_FLAG(int, rounds, 40, "timed pushes of each kind");

namespace petrel::server {
namespace {

std::unique_ptr<JobShards> Shards(int staleness, int64_t floats) {
  JobAssignment assignment;
  assignment.set_job_id("bench");
  assignment.set_state(RUNNING);
  JobSpec* spec = assignment.mutable_spec();
  spec->mutable_optimizer()->set_type("sgd");
  spec->mutable_optimizer()->set_learning_rate(1e-3f);
  spec->mutable_training()->set_staleness(staleness);
  assignment.add_worker_ids("worker-0");
  DenseTable table;
  table.set_name("w");
  table.add_shape(floats);
  table.set_initializer("zeros");
  *assignment.mutable_shard_map()->add_tables() = table;
  const std::vector<ShardRange> ranges = PartitionDenseTables({table}, {{"server-0", "-"}}).value();
  for (const ShardRange& range : ranges) *assignment.mutable_shard_map()->add_ranges() = range;
  return std::move(JobShards::Create(assignment, "server-0", 0).value());
}

// The serialized push for `clock`, placed `shift` bytes past a 64-byte
// boundary, in one slice as gRPC would hand a chunk read in one go.
struct Received {
  std::vector<char> storage;
  grpc::Slice slices[2];
  int count = 1;
};

Received Place(int64_t floats, int64_t clock, size_t shift, bool split) {
  PushRequest push;
  push.set_job_id("bench");
  push.set_worker_id("worker-0");
  push.set_clock(clock);
  Slice* slice = push.add_slices();
  slice->set_table("w");
  slice->set_end(floats);
  FloatsToBytes(std::vector<float>(floats, 1e-3f), push.add_gradients());
  const std::string bytes = push.SerializeAsString();
  Received received;
  received.storage.resize(bytes.size() + 128);
  // The payload (the last floats * 4 bytes) lands on a multiple of 64, plus `shift`.
  const size_t payload = bytes.size() - floats * 4;
  char* base = received.storage.data();
  const size_t misfit = (reinterpret_cast<uintptr_t>(base) + payload) % 64;
  char* at = base + (64 - misfit) % 64 + shift;
  std::memcpy(at, bytes.data(), bytes.size());
  // Split: two slices, cut in the middle of the payload, as two socket reads.
  const size_t first = split ? payload + floats * 2 + 1 : bytes.size();
  if (!split) {
    received.slices[0] = grpc::Slice(at, first, grpc::Slice::STATIC_SLICE);
  } else {  // two buffers of their own (gRPC joins adjacent static slices)
    received.slices[0] = grpc::Slice(at, first);
    received.slices[1] = grpc::Slice(at + first, bytes.size() - first);
    received.count = 2;
  }
  return received;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Run(const char* mode, int staleness, int64_t floats, int rounds) {
  enum Kind { kTyped, kRaw, kRawMisaligned, kRawSplit, kKinds };
  const char* names[kKinds] = {"typed (protobuf parse)", "raw (views)", "raw, payload misaligned",
                               "raw, payload in 2 slices"};
  std::unique_ptr<JobShards> shards[kKinds];
  for (auto& s : shards) s = Shards(staleness, floats);
  std::vector<double> ms[kKinds];
  PushDecodeStats stats[kKinds];
  for (int64_t clock = 0; clock < rounds + 3; ++clock) {
    for (int kind = 0; kind < kKinds; ++kind) {
      Received received =
          Place(floats, clock, kind == kRawMisaligned ? 1 : 0, kind == kRawSplit);
      const auto start = std::chrono::steady_clock::now();
      grpc::ByteBuffer buffer(received.slices, received.count);
      absl::Status status;
      if (kind == kTyped) {
        PushRequest request;
        grpc::Status parsed =
            grpc::SerializationTraits<PushRequest>::Deserialize(&buffer, &request);
        status = parsed.ok() ? shards[kind]->Push(request) : absl::InternalError("parse");
      } else {
        absl::StatusOr<PushView> view = DecodePush(buffer, &stats[kind]);
        status = view.ok() ? shards[kind]->Push(std::move(*view)) : view.status();
      }
      const double elapsed =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      if (!status.ok()) {
        std::fprintf(stderr, "%s\n", status.ToString().c_str());
        std::exit(1);
      }
      if (clock >= 3) ms[kind].push_back(elapsed);  // the first touch the memory
    }
  }
  for (int kind = 0; kind < kKinds; ++kind) {
    std::printf("%-6s %-26s min %7.3f ms  median %7.3f ms", mode, names[kind],
                *std::min_element(ms[kind].begin(), ms[kind].end()), Median(ms[kind]));
    if (kind != kTyped) {
      std::printf("  (fields: %lld in place, %lld gathered)",
                  static_cast<long long>(stats[kind].in_place),
                  static_cast<long long>(stats[kind].split + stats[kind].misaligned));
    }
    std::printf("\n");
  }
}

}  // namespace
}  // namespace petrel::server

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  spdlog::set_level(spdlog::level::warn);
  const int64_t floats = absl::GetFlag(FLAGS_floats);
  const int rounds = absl::GetFlag(FLAGS_rounds);
  std::printf("one pushed chunk of %lld floats (%.1f MiB), SGD, %d rounds each, interleaved\n",
              static_cast<long long>(floats), floats * 4 / 1048576.0, rounds);
  petrel::server::Run("async", -1, floats, rounds);
  petrel::server::Run("bsp", 0, floats, rounds);
  return 0;
}

// Fuzzes the server's handling of pulls, pushes, checkpoint restores and
// state transfers (server/parameter_service.h, server/job_shards.h) on a
// small fixed job: dense tables "w" [6, 5] (this server's shard group 0
// holds [0, 20), group 1 the rest) and "b" [5], and a sparse table "emb" of
// dim 3 cut over the two groups. This server heads group 0 and is a replica
// of group 1 being rebuilt (it awaits group 1's state). Requests name group
// 0 unless the fuzzer says otherwise.
//
// Input: byte 0 picks the job's configuration (optimizer, staleness, one
// or two workers, a row limit, federated with DP or not); the rest is
// records (fuzz_util.h's RecordReader) whose bytes are parsed as the
// request protos, as gRPC parses them: kind % 8 = 0 PullRequest,
// 1 PushRequest (FIXED64 ones are federated uploads), decoded as the raw
// Push method decodes it (common/push_wire.h), 2 ShardCheckpoint
// given to Restore, 3 status and gate reports, 4 a job state,
// 5 CloseRoundRequest, 6 InstallReplicaRequest (a chunk of a state transfer),
// 7 ListSparseRowsRequest (a page of a sparse table's export).
//
// Invariants: a pull answered OK has one value of the right size per slice
// and one row block per sparse slice, and a push-pull (pull_next) one value
// per dense slice; a push or restore that is refused
// changes no parameter, optimizer state or clock (job_shards.h: "a bad
// request changes no state"); so does a refused CloseRound; a state chunk
// that is refused, or taken without completing the state, changes neither
// and leaves a group awaiting its state as it was (unless it is the first
// chunk of a transfer that replaces an unconfirmed install); an answered
// chunk holds no more bytes than its transfer declares; an export page
// changes nothing and holds ascending keys past its start, each with a row.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "common/jobspec/job_file.h"
#include "common/rpc/rpc.h"
#include "common/jobspec/partition.h"
#include "common/wire/push_wire.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/checkpoint.pb.h"
#include "proto/coordinator.pb.h"
#include "proto/parameter.pb.h"
#include "server/grpc_replica_client.h"
#include "server/job_shards.h"
#include "server/parameter_service.h"
#include "server/shard_store.h"
#include "spdlog/spdlog.h"
#include "tests/fuzz/fuzz_util.h"

namespace petrel::server {
namespace {

constexpr char kJob[] = "job-1";
constexpr char kServer[] = "server-0";
constexpr int kDim = 3;
const char* const kOptimizers[] = {"sgd", "momentum", "adam", "adagrad", "ftrl"};

// A spec as the coordinator sends it: parsed from YAML, so every default
// (optimizer parameters included) is filled in.
JobSpec Spec(const std::string& optimizer, int staleness, bool federated) {
  const std::string yaml = absl::StrCat(
      "model: {type: mlp, hidden: [5], input_dim: 6, num_classes: 3}\n"
      "data: {path: /nonexistent}\n"
      "optimizer: {type: ",
      optimizer,
      ", learning_rate: 0.5}\n"
      "training: {batch_size: 4, seed: 3, staleness: ",
      staleness < 0 ? std::string("async") : std::to_string(staleness), "}\n",
      federated ? "mode: federated\nfederated: {rounds: 3}\n"
                  "dp: {clip_norm: 1.0, noise_multiplier: 0.5}\n"
                : "");
  absl::StatusOr<JobSpec> spec = ParseJobYaml(yaml, "fuzz.yaml");
  if (!spec.ok()) {
    std::fprintf(stderr, "%s\n", spec.status().ToString().c_str());
    std::abort();
  }
  return *spec;
}

JobAssignment Assignment(uint8_t config) {
  JobAssignment assignment;
  assignment.set_job_id(kJob);
  assignment.set_state(RUNNING);
  const int staleness = ((config >> 3) & 3) == 3 ? -1 : (config >> 3) & 3;
  *assignment.mutable_spec() = Spec(kOptimizers[(config & 7) % 5], staleness, config & 0x80);
  const int workers = (config & 0x20) ? 2 : 1;
  for (int r = 0; r < workers; ++r) assignment.add_worker_ids("worker-" + std::to_string(r));
  ShardMap* map = assignment.mutable_shard_map();
  map->set_job_id(kJob);
  map->set_epoch(1);
  DenseTable* w = map->add_tables();
  w->set_name("w");
  w->add_shape(6);
  w->add_shape(5);
  w->set_initializer("glorot_uniform");
  DenseTable* b = map->add_tables();
  b->set_name("b");
  b->add_shape(5);
  b->set_initializer("zeros");
  // Two shard groups: this server heads group 0, a chain of one (it
  // forwards its pushes nowhere), and joined group 1's chain after
  // server-1, which owes it the state (ready 1).
  for (int group = 0; group < 2; ++group) {
    ShardGroup* chain = map->add_groups();
    chain->set_id(group);
    chain->add_servers("server-" + std::to_string(group));
    chain->add_addresses("server-" + std::to_string(group) + ":1");
  }
  map->mutable_groups(1)->add_servers(kServer);
  map->mutable_groups(1)->add_addresses("server-0:1");
  map->mutable_groups(1)->set_ready(1);
  auto place = [map](const std::string& table, int64_t begin, int64_t end, int group) {
    ShardRange* range = map->add_ranges();
    range->set_table(table);
    range->set_begin(begin);
    range->set_end(end);
    range->set_server_id("server-" + std::to_string(group));
    range->set_server_address(range->server_id() + ":1");
    range->set_group(group);
  };
  place("w", 0, 20, 0);
  place("w", 20, 30, 1);
  place("b", 0, 5, 0);
  SparseTable emb;
  emb.set_name("emb");
  emb.set_dim(kDim);
  emb.set_initializer("uniform");
  emb.set_init_scale(0.1f);
  emb.set_max_rows((config & 0x40) ? 4 : 0);
  *map->add_sparse_tables() = emb;
  for (const SparseShard& shard :
       PartitionSparseTables({emb}, {{kServer, "a:1"}, {"server-1", "b:1"}})) {
    *map->add_sparse_shards() = shard;
  }
  return assignment;
}

// What a refused request must leave as it was.
std::string State(const JobShards& shards) {
  std::string state = shards.Snapshot(0).SerializeAsString();
  const GateReport report = shards.Report(absl::InfinitePast());
  for (const WorkerClock& clock : report.clocks()) state += clock.SerializeAsString();
  return state;
}

// The group refuses calls until it receives its state.
bool AwaitsState(JobShards& shards) {
  PullRequest pull;
  pull.set_job_id(kJob);
  pull.set_observer(true);
  PullResponse response;
  std::optional<absl::Status> status;
  shards.Pull(pull, &response, [&status](absl::Status s) { status = s; });
  PETREL_FUZZ_CHECK(status.has_value());  // observers never wait
  return absl::IsUnavailable(*status) && absl::StrContains(status->message(), "being rebuilt");
}

struct Call {
  PullRequest request;
  PullResponse response;
  std::optional<absl::Status> status;
};

// A push with pull_next: its answer may wait at the staleness gate.
struct PushPullCall {
  PushRequest request;
  PushResponse response;
  std::optional<absl::Status> status;
};

void CheckAnswer(const Call& call) {
  if (!call.status.has_value() || !call.status->ok()) return;
  const PullRequest& request = call.request;
  const PullResponse& response = call.response;
  PETREL_FUZZ_CHECK(response.values_size() == request.slices_size());
  for (int i = 0; i < request.slices_size(); ++i) {
    const Slice& slice = request.slices(i);
    PETREL_FUZZ_CHECK(static_cast<int64_t>(response.values(i).size()) ==
                      (slice.end() - slice.begin()) * 4);
  }
  PETREL_FUZZ_CHECK(response.sparse_rows_size() == request.sparse_size());
  for (int i = 0; i < request.sparse_size(); ++i) {
    PETREL_FUZZ_CHECK(response.sparse_rows(i).size() ==
                      request.sparse(i).keys().size() / 8 * kDim * 4);
  }
}

}  // namespace
}  // namespace petrel::server

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace petrel;
  using namespace petrel::server;
  if (size == 0) return 0;
  // Declared before the store: the store's destructor fails the pulls still
  // waiting, which writes to them.
  std::deque<Call> calls;
  std::deque<PushPullCall> push_pulls;
  ShardStore store(kServer);
  store.Reconcile({Assignment(data[0])});
  absl::StatusOr<std::shared_ptr<JobShards>> shards = store.Find(kJob, 0);
  PETREL_FUZZ_CHECK(shards.ok());
  SecuredChannelFactory channels;
  GrpcReplicaClient replicas(channels);  // a chain of one: never called
  ParameterService service(&store, &replicas);

  fuzz::RecordReader records(data + 1, size - 1);
  uint8_t kind;
  absl::string_view bytes;
  while (records.Next(&kind, &bytes)) {
    switch (kind % 8) {
      case 0: {
        Call& call = calls.emplace_back();
        if (!call.request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) break;
        service.Pull(call.request, &call.response, [&call](absl::Status status) {
          PETREL_FUZZ_CHECK(!call.status.has_value());  // answered once
          call.status = status;
          CheckAnswer(call);
        });
        break;
      }
      case 1: {
        grpc::Slice slice(bytes.data(), bytes.size());
        const grpc::ByteBuffer wire(&slice, 1);
        absl::StatusOr<PushView> push = DecodePush(wire);
        if (!push.ok()) break;
        const std::string before = State(**shards);
        if (push->header.pull_next()) {
          // A push-pull may wait at the gate: typed, so the call owns its
          // request while it waits.
          PushPullCall& call = push_pulls.emplace_back();
          call.request = ToRequest(*push);
          service.Push(call.request, &call.response, [&call](absl::Status status) {
            PETREL_FUZZ_CHECK(!call.status.has_value());  // answered once
            call.status = status;
            if (status.ok()) {
              PETREL_FUZZ_CHECK(call.response.values_size() == call.request.slices_size());
            }
          });
          // Refused at once: refused before anything was applied.
          if (call.status.has_value() && !call.status->ok()) {
            PETREL_FUZZ_CHECK(State(**shards) == before);
          }
          break;
        }
        PushResponse response;
        std::optional<absl::Status> status;
        service.Push(std::move(*push), wire, &response, [&status](absl::Status s) { status = s; });
        PETREL_FUZZ_CHECK(status.has_value());  // a chain of one: nothing to wait for
        if (!status->ok()) PETREL_FUZZ_CHECK(State(**shards) == before);
        break;
      }
      case 2: {
        ShardCheckpoint checkpoint;
        if (!checkpoint.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) break;
        const std::string before = State(**shards);
        if (!(*shards)->Restore(checkpoint).ok()) PETREL_FUZZ_CHECK(State(**shards) == before);
        break;
      }
      case 3: {
        const absl::Time now = absl::Now() + absl::Seconds(bytes.empty() ? 0 : bytes[0]);
        (void)store.GateReports(now);
        store.CheckStalls(now);
        (void)store.StatusJson().dump();
        break;
      }
      case 4:
        if (!bytes.empty()) (*shards)->set_state(static_cast<JobState>(bytes[0] % 6));
        break;
      case 5: {
        CloseRoundRequest request;
        if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) break;
        request.set_job_id(kJob);
        const std::string before = State(**shards);
        if (!service.CloseRound(request).ok()) PETREL_FUZZ_CHECK(State(**shards) == before);
        break;
      }
      case 6: {
        InstallReplicaRequest request;
        if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) break;
        request.set_job_id(kJob);
        absl::StatusOr<std::shared_ptr<JobShards>> target = store.Find(kJob, request.shard_group());
        const std::string before = target.ok() ? State(**target) : "";
        const bool awaiting = target.ok() && AwaitsState(**target);
        InstallReplicaResponse response;
        const absl::Status status = service.InstallReplica(request, &response);
        if (!target.ok()) {
          PETREL_FUZZ_CHECK(!status.ok());
          break;
        }
        if (status.ok()) {
          PETREL_FUZZ_CHECK(response.held_bytes() >= 0 &&
                            response.held_bytes() <= request.total_bytes());
        }
        if (status.ok() && response.installed()) {
          PETREL_FUZZ_CHECK(!AwaitsState(**target));
        } else {
          PETREL_FUZZ_CHECK(State(**target) == before);
          const bool replacing = status.ok() && !awaiting && request.offset() == 0 &&
                                 !request.chunk().empty();
          PETREL_FUZZ_CHECK(AwaitsState(**target) == (awaiting || replacing));
        }
        break;
      }
      case 7: {
        ListSparseRowsRequest request;
        if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) break;
        request.set_job_id(kJob);
        absl::StatusOr<std::shared_ptr<JobShards>> target = store.Find(kJob, request.shard_group());
        const std::string before = target.ok() ? State(**target) : "";
        ListSparseRowsResponse page;
        const absl::Status status = service.ListSparseRows(request, &page);
        if (!target.ok()) {
          PETREL_FUZZ_CHECK(!status.ok());
          break;
        }
        PETREL_FUZZ_CHECK(State(**target) == before);  // export only reads
        if (!status.ok()) break;
        PETREL_FUZZ_CHECK(page.dim() > 0 && page.keys().size() % sizeof(uint64_t) == 0);
        const size_t n = page.keys().size() / sizeof(uint64_t);
        PETREL_FUZZ_CHECK(page.rows().size() == n * page.dim() * sizeof(float));
        PETREL_FUZZ_CHECK(request.max_rows() <= 0 || n <= static_cast<size_t>(request.max_rows()));
        PETREL_FUZZ_CHECK(static_cast<int64_t>(n) <= page.total_rows());
        for (size_t i = 0; i < n; ++i) {
          uint64_t key;
          std::memcpy(&key, page.keys().data() + i * sizeof(key), sizeof(key));
          PETREL_FUZZ_CHECK(!request.has_after_key() || key > request.after_key());
          if (i > 0) {
            uint64_t previous;
            std::memcpy(&previous, page.keys().data() + (i - 1) * sizeof(key), sizeof(key));
            PETREL_FUZZ_CHECK(previous < key);
          }
        }
        break;
      }
    }
  }
  for (const Call& call : calls) CheckAnswer(call);
  return 0;
}

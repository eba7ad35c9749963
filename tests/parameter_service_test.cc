// The parameter service over real gRPC: pulls return the initial values,
// pushes apply the optimizer exactly, and bad pushes get the right canonical
// code and leave the parameters as they were.
#define CATCH_CONFIG_MAIN
#include <cmath>

#include "absl/synchronization/notification.h"
#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "common/wire/gradient_codec.h"
#include "common/rpc/grpc_status.h"
#include "common/rpc/rpc.h"
#include "common/rpc/shard_map_epoch.h"
#include "grpcpp/generic/generic_stub.h"
#include "proto/parameter.grpc.pb.h"
#include "tests/in_process_cluster.h"
#include "client/ps_client.h"

namespace petrel::testing {
namespace {

class ParameterFixture {
 public:
  ParameterFixture() {
    // Two servers and no worker daemon: the test plays the worker.
    auto cluster = InProcessCluster::Start(
        {.servers = 2, .workers = 0, .heartbeat_timeout = absl::Minutes(10)});
    REQUIRE(cluster.ok());
    cluster_ = std::move(*cluster);
    RegisterRequest registration;
    registration.set_grpc_address("127.0.0.1:1");
    auto worker = cluster_->client().RegisterWorker(registration);
    REQUIRE(worker.ok());
    worker_id_ = worker->node_id();

    SubmitJobRequest request;
    *request.mutable_spec() = FashionMnistJob({}, 1, 2, 1);
    request.mutable_spec()->mutable_optimizer()->set_type("sgd");
    request.mutable_spec()->mutable_optimizer()->set_learning_rate(0.5f);
    auto submitted = cluster_->client().SubmitJob(request);
    REQUIRE(submitted.ok());
    job_id_ = submitted->job_id();
    auto map = cluster_->client().GetShardMap(job_id_);
    REQUIRE(map.ok());
    map_ = *map;
    for (const ShardRange& range : map_.ranges()) {
      if (!stubs_.count(range.server_address())) {
        // The in-process cluster is plaintext.
        stubs_[range.server_address()] =
            Parameter::NewStub(SecuredChannelFactory().Channel(range.server_address()));
      }
    }
    // The placement reaches the servers with their next heartbeat.
    const ShardRange& first = map_.ranges(0);
    for (int i = 0; i < 100; ++i) {
      if (Pull(first).ok()) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  const ShardRange& Range(int i) const { return map_.ranges(i); }
  const ShardMap& map() const { return map_; }

  // A PsClient acting as the job's worker.
  std::unique_ptr<worker::PsClient> Client(int64_t chunk_bytes, int chunks_in_flight,
                                           CompressionSpec compression = {}) const {
    worker::PsClientOptions options;
    options.compression = compression;
    options.job_id = job_id_;
    options.worker_id = worker_id_;
    options.chunk_bytes = chunk_bytes;
    options.chunks_in_flight = chunks_in_flight;
    return worker::NewGrpcPsClient(map_, options);
  }

  grpc::Status Pull(const ShardRange& range, std::vector<float>* values = nullptr,
                    int64_t clock = 0) {
    PullRequest request;
    request.set_job_id(job_id_);
    request.set_worker_id(worker_id_);
    request.set_clock(clock);
    Slice* slice = request.add_slices();
    slice->set_table(range.table());
    slice->set_begin(range.begin());
    slice->set_end(range.end());
    PullResponse response;
    grpc::ClientContext context;
    grpc::Status status = stubs_[range.server_address()]->Pull(&context, request, &response);
    if (status.ok() && values != nullptr) {
      absl::Span<const float> floats = BytesAsFloats(response.values(0));
      values->assign(floats.begin(), floats.end());
    }
    return status;
  }

  // The push Push would send, serialised.
  std::string PushBytes(const ShardRange& range, const std::vector<float>& gradient,
                        int64_t clock = 0) const {
    PushRequest request;
    request.set_job_id(job_id_);
    request.set_clock(clock);
    request.set_worker_id(worker_id_);
    Slice* slice = request.add_slices();
    slice->set_table(range.table());
    slice->set_begin(range.begin());
    slice->set_end(range.end());
    FloatsToBytes(gradient, request.add_gradients());
    return request.SerializeAsString();
  }

  // Sends `bytes` as a push, whatever they are.
  grpc::Status PushRaw(const ShardRange& range, const std::string& bytes) {
    grpc::GenericStub stub(SecuredChannelFactory().Channel(range.server_address()));
    grpc::Slice slice(bytes);
    const grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::ClientContext context;
    absl::Notification done;
    grpc::Status status;
    stub.UnaryCall(&context, "/petrel.Parameter/Push", grpc::StubOptions(), &request, &response,
                   [&](grpc::Status s) {
                     status = std::move(s);
                     done.Notify();
                   });
    done.WaitForNotification();
    return status;
  }

  grpc::Status Push(const ShardRange& range, const std::string& table, int64_t begin,
                    int64_t end, const std::vector<float>& gradient,
                    const std::string& job_id = "", int64_t clock = 0) {
    PushRequest request;
    request.set_job_id(job_id.empty() ? job_id_ : job_id);
    request.set_clock(clock);
    request.set_worker_id(worker_id_);
    Slice* slice = request.add_slices();
    slice->set_table(table);
    slice->set_begin(begin);
    slice->set_end(end);
    FloatsToBytes(gradient, request.add_gradients());
    PushResponse response;
    grpc::ClientContext context;
    return stubs_[range.server_address()]->Push(&context, request, &response);
  }

 private:
  std::unique_ptr<InProcessCluster> cluster_;
  std::string worker_id_, job_id_;
  ShardMap map_;
  std::map<std::string, std::unique_ptr<Parameter::Stub>> stubs_;
};

TEST_CASE("pushes apply SGD exactly and bad pushes change nothing") {
  ParameterFixture f;
  const ShardRange& range = f.Range(0);  // layer0/weights, first half, on server-0
  REQUIRE(range.table() == "layer0/weights");
  const int64_t n = range.end() - range.begin();
  std::vector<float> initial;
  REQUIRE(f.Pull(range, &initial).ok());
  REQUIRE(static_cast<int64_t>(initial.size()) == n);

  auto unchanged = [&] {
    std::vector<float> now;
    REQUIRE(f.Pull(range, &now).ok());
    CHECK(now == initial);
  };
  std::vector<float> gradient(n);
  for (int64_t i = 0; i < n; ++i) gradient[i] = std::sin(0.001 * i);

  SECTION("wrong length") {
    std::vector<float> short_gradient(gradient.begin(), gradient.end() - 1);
    grpc::Status s = f.Push(range, range.table(), range.begin(), range.end(), short_gradient);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message().find("expected") != std::string::npos);
    unchanged();
  }
  SECTION("unknown job") {
    grpc::Status s = f.Push(range, range.table(), range.begin(), range.end(), gradient, "job-99");
    CHECK(s.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(s.error_message().find("job-99") != std::string::npos);
    unchanged();
  }
  SECTION("unknown table") {
    grpc::Status s = f.Push(range, "layer7/weights", 0, n, gradient);
    CHECK(s.error_code() == grpc::StatusCode::NOT_FOUND);
    CHECK(s.error_message().find("layer7/weights") != std::string::npos);
    unchanged();
  }
  SECTION("range outside the table") {
    grpc::Status s = f.Push(range, range.table(), 784 * 10 - 5, 784 * 10 + 5,
                            std::vector<float>(10, 1.0f));
    CHECK(s.error_code() == grpc::StatusCode::OUT_OF_RANGE);
    unchanged();
  }
  SECTION("a non-finite gradient") {
    std::vector<float> bad = gradient;
    bad[n / 2] = std::nanf("");
    grpc::Status s = f.Push(range, range.table(), range.begin(), range.end(), bad);
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    unchanged();
  }
  SECTION("truncated, garbage and unknown-field pushes over the raw method") {
    const std::string good = f.PushBytes(range, gradient);
    for (size_t keep : {good.size() - 1, good.size() / 2, size_t{3}}) {
      grpc::Status s = f.PushRaw(range, good.substr(0, keep));
      INFO("the first " << keep << " bytes");
      CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK(s.error_message().find("malformed push") != std::string::npos);
    }
    grpc::Status s = f.PushRaw(range, std::string("\xff\xff\xff\x07garbage"));
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    // Field 16 is no field of PushRequest: refused, not ignored.
    s = f.PushRaw(range, good + std::string("\x80\x01\x01", 3));
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(s.error_message().find("unknown field 16") != std::string::npos);
    unchanged();
    // The same bytes, whole, apply.
    REQUIRE(f.PushRaw(range, good).ok());
    std::vector<float> now;
    REQUIRE(f.Pull(range, &now).ok());
    for (int64_t i = 0; i < n; ++i) REQUIRE(now[i] == Approx(initial[i] - 0.5f * gradient[i]).margin(1e-6));
  }
  SECTION("a good push applies p -= lr * g") {
    REQUIRE(f.Push(range, range.table(), range.begin(), range.end(), gradient, "", 0).ok());
    REQUIRE(f.Push(range, range.table(), range.begin(), range.end(), gradient, "", 1).ok());
    std::vector<float> now;
    REQUIRE(f.Pull(range, &now).ok());
    for (int64_t i = 0; i < n; ++i) {
      float expected = initial[i] - 0.5f * gradient[i];
      expected -= 0.5f * gradient[i];
      REQUIRE(now[i] == Approx(expected).margin(1e-6));
    }
  }
}

TEST_CASE("pulls of bad slices are refused with canonical codes") {
  ParameterFixture f;
  ShardRange range = f.Range(0);
  range.set_table("nope");
  CHECK(f.Pull(range).error_code() == grpc::StatusCode::NOT_FOUND);
  range = f.Range(0);
  range.set_end(range.end() + 1);  // past what server-0 holds
  CHECK(f.Pull(range).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  // A pull claiming a clock the worker has not pushed is refused.
  grpc::Status ahead = f.Pull(f.Range(0), nullptr, /*clock=*/5);
  CHECK(ahead.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(ahead.error_message().find("has pushed 0 clocks") != std::string::npos);
}

// What ReroutingPsClient acts on: the reason set by the server's ShardStore
// arrives through the real PsClient, not only the words.
TEST_CASE("a server that holds no shards of the job answers NOT_HELD, reason included") {
  ParameterFixture f;
  worker::PsClientOptions options;
  options.job_id = "job-never-placed";
  options.worker_id = "worker-x";
  // NOT_FOUND is retried until a first answer; not for long here.
  options.retry_timeout = absl::Milliseconds(200);
  ShardMap map = f.map();
  map.set_job_id(options.job_id);
  std::unique_ptr<worker::PsClient> client = worker::NewGrpcPsClient(map, options);
  std::vector<std::vector<float>> tables;
  const absl::Status status = client->Pull(0, &tables, nullptr);
  INFO(status.ToString());
  CHECK(IsNotHeld(status));
  CHECK(status.message().find("is not held by") != std::string::npos);
  // A refusal of another kind carries no such reason.
  ShardRange range = f.Range(0);
  range.set_table("nope");
  const absl::Status unknown_table = FromGrpcStatus(f.Pull(range));
  CHECK(absl::IsNotFound(unknown_table));
  CHECK_FALSE(IsNotHeld(unknown_table));
}

TEST_CASE("a client that cuts tables into small chunks pulls and pushes the same values") {
  ParameterFixture f;
  auto whole = f.Client(64 << 20, 1);
  // 4096-byte chunks: the 7840-float weights travel as several parts per
  // server, up to 3 at a time.
  auto chunked = f.Client(4096, 3);
  std::vector<std::vector<float>> initial, pulled;
  REQUIRE(whole->Pull(0, &initial).ok());
  REQUIRE(chunked->Pull(0, &pulled).ok());
  REQUIRE(pulled == initial);

  std::vector<std::vector<float>> gradients = initial;
  for (auto& table : gradients) {
    for (size_t i = 0; i < table.size(); ++i) table[i] = std::cos(0.01 * i);
  }
  REQUIRE(chunked->Push(0, gradients).ok());
  std::vector<std::vector<float>> after;
  REQUIRE(whole->Pull(1, &after).ok());
  for (size_t t = 0; t < after.size(); ++t) {
    for (size_t i = 0; i < after[t].size(); ++i) {
      REQUIRE(after[t][i] == Approx(initial[t][i] - 0.5f * gradients[t][i]).margin(1e-6));
    }
  }
  // The clock advanced once, not once per part: the next push is clock 1,
  // and the same push sent again is a retry, applied once.
  REQUIRE(chunked->Push(1, gradients).ok());
  std::vector<std::vector<float>> once;
  REQUIRE(whole->Pull(2, &once).ok());
  REQUIRE(chunked->Push(1, gradients).ok());
  std::vector<std::vector<float>> still;
  REQUIRE(whole->Pull(2, &still).ok());
  CHECK(still == once);
  CHECK(!chunked->Push(3, gradients).ok());  // a clock from the future is refused
}

TEST_CASE("compressed pushes apply the decoded gradient") {
  ParameterFixture f;
  auto plain = f.Client(64 << 20, 1);
  std::vector<std::vector<float>> initial;
  REQUIRE(plain->Pull(0, &initial).ok());
  std::vector<std::vector<float>> gradients = initial;
  for (auto& table : gradients) {
    for (size_t i = 0; i < table.size(); ++i) table[i] = std::sin(0.013 * i + 0.5);
  }

  SECTION("bf16 and fp16: each element rounded to 16 bits") {
    for (const char* type : {"bf16", "fp16"}) {
      INFO(type);
      CompressionSpec compression;
      compression.set_type(type);
      auto client = f.Client(4096, 2, compression);
      std::vector<std::vector<float>> before, after;
      REQUIRE(plain->Pull(0, &before).ok());
      REQUIRE(client->Push(std::string(type) == "bf16" ? 0 : 1, gradients).ok());
      REQUIRE(plain->Pull(0, &after).ok());
      for (size_t t = 0; t < after.size(); ++t) {
        for (size_t i = 0; i < after[t].size(); ++i) {
          const float g = gradients[t][i];
          const float sent = std::string(type) == "bf16" ? Bfloat16ToFloat(FloatToBfloat16(g))
                                                         : HalfToFloat(FloatToHalf(g));
          REQUIRE(after[t][i] == before[t][i] - 0.5f * sent);
        }
      }
    }
  }
  SECTION("top-k: only the largest tenth of each slice moves") {
    CompressionSpec compression;
    compression.set_type("topk");
    compression.set_topk_ratio(0.1);
    auto client = f.Client(64 << 20, 1, compression);
    REQUIRE(client->Push(0, gradients).ok());
    std::vector<std::vector<float>> after;
    REQUIRE(plain->Pull(0, &after).ok());
    int64_t moved = 0, total = 0;
    for (size_t t = 0; t < after.size(); ++t) {
      for (size_t i = 0; i < after[t].size(); ++i) {
        ++total;
        if (after[t][i] == initial[t][i]) continue;
        ++moved;
        // In the large slices only sin's largest values make the top tenth.
        if (after[t].size() > 100) REQUIRE(std::fabs(gradients[t][i]) > 0.9f);
        REQUIRE(after[t][i] == initial[t][i] - 0.5f * gradients[t][i]);
      }
    }
    CHECK(moved >= total / 10);
    CHECK(moved <= total / 10 + 8);  // ceil per slice
  }
}

}  // namespace
}  // namespace petrel::testing

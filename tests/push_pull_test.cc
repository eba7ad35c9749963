// Push-pull over real gRPC (PushRequest.pull_next): the answer to a push is
// bit for bit the pull of the next clock, whole or in parts, waiting at the
// BSP gate as that pull would; with the worker's background push-pulls
// (worker/pipelined_ps_client.h) no value a worker uses is staler than
// SSP's bound; a push-pull the servers cannot serve is refused and applies
// nothing.
#define CATCH_CONFIG_MAIN
#include <cmath>
#include <cstring>
#include <thread>

#include "absl/synchronization/notification.h"
#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"
#include "common/rpc/rpc.h"
#include "proto/parameter.grpc.pb.h"
#include "tests/in_process_cluster.h"
#include "client/pipelined_ps_client.h"
#include "client/ps_client.h"

namespace petrel::testing {
namespace {

using Tables = std::vector<std::vector<float>>;

// Two servers, no worker daemons: the test plays `workers` workers of a
// softmax job with zero initial values and plain SGD at learning rate 1, so
// each value is minus the sum of the gradients applied to it.
class Job {
 public:
  Job(int workers, int staleness) {
    auto cluster = InProcessCluster::Start(
        {.servers = 2, .workers = 0, .heartbeat_timeout = absl::Minutes(10)});
    REQUIRE(cluster.ok());
    cluster_ = std::move(*cluster);
    for (int i = 0; i < workers; ++i) {
      RegisterRequest registration;
      registration.set_grpc_address("127.0.0.1:1");
      auto worker = cluster_->client().RegisterWorker(registration);
      REQUIRE(worker.ok());
      worker_ids_.push_back(worker->node_id());
    }
    SubmitJobRequest request;
    *request.mutable_spec() = FashionMnistJob({}, 1, 2, workers);
    request.mutable_spec()->mutable_model()->set_initializer("zeros");
    request.mutable_spec()->mutable_optimizer()->set_type("sgd");
    request.mutable_spec()->mutable_optimizer()->set_learning_rate(1.0f);
    request.mutable_spec()->mutable_training()->set_staleness(staleness);
    auto submitted = cluster_->client().SubmitJob(request);
    REQUIRE(submitted.ok());
    job_id_ = submitted->job_id();
    auto map = cluster_->client().GetShardMap(job_id_);
    REQUIRE(map.ok());
    map_ = *map;
    // The placement reaches the servers with their next heartbeat.
    auto probe = Client(0);
    Tables values;
    for (int i = 0; i < 200 && !probe->Pull(0, &values).ok(); ++i) {
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  const ShardMap& map() const { return map_; }
  const std::string& job_id() const { return job_id_; }
  const std::string& worker_id(int i) const { return worker_ids_[i]; }

  // Worker i's client; small chunks cut each server's share into parts.
  std::unique_ptr<worker::PsClient> Client(int i, int64_t chunk_bytes = 64 << 20,
                                           int chunks_in_flight = 2) const {
    worker::PsClientOptions options;
    options.job_id = job_id_;
    options.worker_id = worker_ids_[i];
    options.chunk_bytes = chunk_bytes;
    options.chunks_in_flight = chunks_in_flight;
    return worker::NewGrpcPsClient(map_, options);
  }

 private:
  std::unique_ptr<InProcessCluster> cluster_;
  std::vector<std::string> worker_ids_;
  std::string job_id_;
  ShardMap map_;
};

bool SameBits(const Tables& a, const Tables& b) {
  if (a.size() != b.size()) return false;
  for (size_t t = 0; t < a.size(); ++t) {
    if (a[t].size() != b[t].size() ||
        std::memcmp(a[t].data(), b[t].data(), a[t].size() * sizeof(float)) != 0) {
      return false;
    }
  }
  return true;
}

Tables Gradients(const Tables& shape, double phase) {
  Tables gradients = shape;
  for (auto& table : gradients) {
    for (size_t i = 0; i < table.size(); ++i) table[i] = std::sin(phase + 0.01 * i);
  }
  return gradients;
}

TEST_CASE("under BSP a push-pull waits at the gate and answers what the next pull returns") {
  Job job(/*workers=*/2, /*staleness=*/0);
  // Whole requests, then 4 KiB parts (the 7850 floats are several parts per
  // server, more than the 2 in flight a plain push allows).
  for (int64_t chunk_bytes : {int64_t{64} << 20, int64_t{4096}}) {
    INFO("chunk bytes " << chunk_bytes);
    auto a = job.Client(0, chunk_bytes), b = job.Client(1, chunk_bytes);
    const int64_t clock = chunk_bytes == 4096 ? 1 : 0;
    Tables shape;
    REQUIRE(a->Pull(clock, &shape).ok());
    const Tables ga = Gradients(shape, 0.3 + clock), gb = Gradients(shape, 1.7 + clock);

    Tables from_push_pull;
    absl::Status a_status;
    absl::Notification a_done;
    std::thread a_thread([&] {
      a_status = a->PushPull(clock, ga, &from_push_pull);
      a_done.Notify();
    });
    // Worker b has not pushed: the answer waits, as a pull of clock + 1 would.
    CHECK(!a_done.WaitForNotificationWithTimeout(absl::Milliseconds(300)));
    Tables b_next;
    REQUIRE(b->PushPull(clock, gb, &b_next).ok());
    a_thread.join();
    REQUIRE(a_status.ok());

    Tables pulled;
    REQUIRE(b->Pull(clock + 1, &pulled).ok());
    CHECK(SameBits(from_push_pull, pulled));
    CHECK(SameBits(b_next, pulled));
    // And it holds the clock's summed gradients (SGD, rate 1).
    CHECK(pulled[0][5] == Approx(shape[0][5] - ga[0][5] - gb[0][5]).margin(1e-6));
    CHECK(!SameBits(pulled, shape));
  }
}

TEST_CASE("with background push-pulls no worker sees values staler than SSP allows") {
  constexpr int kWorkers = 3, kStaleness = 1, kClocks = 30;
  Job job(kWorkers, kStaleness);
  // Worker q's gradient is -64^q everywhere, so a value is sum_q 64^q x
  // (pushes of q applied), each count readable apart (all below 64).
  std::atomic<int> violations{0}, at_bound{0}, checked{0};
  std::vector<std::string> errors(kWorkers);
  auto run = [&](int q) {
    auto grpc = job.Client(q);
    worker::PipelinedPsClient ps(grpc.get(), /*background=*/true);
    Tables values, gradients;
    for (int64_t c = 0; c < kClocks; ++c) {
      if (absl::Status s = ps.Pull(c, &values, nullptr); !s.ok()) {
        errors[q] = s.ToString();
        return;
      }
      for (const auto& table : values) {
        for (float v : table) {
          int64_t rest = std::llround(v);
          for (int other = 0; other < kWorkers; ++other, rest /= 64) {
            const int64_t count = rest % 64;
            // Its own pushes are all in (acknowledged before the pull was
            // made); every other worker is at most kStaleness clocks behind.
            const bool ok = other == q ? count == c : count >= c - kStaleness;
            if (!ok) ++violations;
            if (other != q && c > kStaleness && count == c - kStaleness) ++at_bound;
          }
          ++checked;
        }
      }
      gradients = values;
      for (auto& table : gradients) std::fill(table.begin(), table.end(), -std::pow(64.0f, q));
      // The last worker is slow, so the others run into the bound.
      absl::SleepFor(absl::Milliseconds(q == kWorkers - 1 ? 8 : 1));
      if (absl::Status s = ps.Push(c, gradients, nullptr); !s.ok()) {
        errors[q] = s.ToString();
        return;
      }
    }
    if (absl::Status s = ps.Leave(kClocks); !s.ok()) errors[q] = s.ToString();
  };
  std::vector<std::thread> threads;
  for (int q = 0; q < kWorkers; ++q) threads.emplace_back(run, q);
  for (std::thread& thread : threads) thread.join();
  for (const std::string& error : errors) CHECK(error == "");
  CHECK(checked > 0);
  CHECK(violations == 0);
  // The bound was reached (and held): the check could have failed.
  CHECK(at_bound > 0);
}

TEST_CASE("a push-pull naming slices a server does not hold is refused and applies nothing") {
  Job job(/*workers=*/1, /*staleness=*/0);
  const ShardMap& map = job.map();
  // A range of each server; the request goes to the first one's server.
  const ShardRange* held = &map.ranges(0);
  const ShardRange* elsewhere = nullptr;
  for (const ShardRange& range : map.ranges()) {
    if (range.server_address() != held->server_address()) elsewhere = &range;
  }
  REQUIRE(elsewhere != nullptr);
  auto stub = Parameter::NewStub(SecuredChannelFactory().Channel(held->server_address()));
  auto push_pull = [&](const std::vector<const ShardRange*>& ranges, bool leave) {
    PushRequest request;
    request.set_job_id(job.job_id());
    request.set_worker_id(job.worker_id(0));
    request.set_clock(0);
    request.set_pull_next(true);
    request.set_leave(leave);
    for (const ShardRange* range : ranges) {
      Slice* slice = request.add_slices();
      slice->set_table(range->table());
      slice->set_begin(range->begin());
      slice->set_end(range->end());
      FloatsToBytes(std::vector<float>(range->end() - range->begin(), 1.0f),
                    request.add_gradients());
    }
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(10)));
    PushResponse response;
    grpc::Status status = stub->Push(&context, request, &response);
    return std::make_pair(status, response);
  };

  auto [refused, empty] = push_pull({held, elsewhere}, /*leave=*/false);
  CHECK(refused.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK_THAT(refused.error_message(), Catch::Contains("does not hold"));
  CHECK(empty.values_size() == 0);
  auto [leaving, nothing] = push_pull({}, /*leave=*/true);
  CHECK(leaving.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(leaving.error_message(), Catch::Contains("pull_next"));

  // Nothing was applied and the worker is still at clock 0: its valid
  // push-pull of clock 0 is applied once and answers the new values.
  auto client = job.Client(0);
  Tables values;
  REQUIRE(client->Pull(0, &values).ok());
  for (const auto& table : values) {
    for (float v : table) REQUIRE(v == 0.0f);
  }
  auto [ok, answer] = push_pull({held}, /*leave=*/false);
  REQUIRE(ok.ok());
  REQUIRE(answer.values_size() == 1);
  for (float v : BytesAsFloats(answer.values(0))) REQUIRE(v == -1.0f);
}

}  // namespace
}  // namespace petrel::testing

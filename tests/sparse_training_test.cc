// Sparse logistic regression end to end in one process: a synthetic libsvm
// data set, keys hashed over 2 server shards, only touched rows moving.
#define CATCH_CONFIG_MAIN
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

#include "catch2/catch.hpp"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/in_process_cluster.h"
#include "tools/cli/model_export.h"
#include "client/ps_client.h"

namespace petrel::testing {
namespace {

// Each example has 20 random features out of 2000; the label is decided by
// whether more of them fall among the "spammy" half (even keys).
void WriteLibsvm(const std::string& path, int examples, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::ofstream out(path);
  for (int i = 0; i < examples; ++i) {
    std::set<uint64_t> keys;
    const bool spam = random() % 2 == 0;
    while (keys.size() < 20) {
      uint64_t key = random() % 1000 * 2 + ((random() % 10 < (spam ? 8 : 2)) ? 0 : 1);
      keys.insert(key);
    }
    out << (spam ? 1 : 0);
    for (uint64_t key : keys) out << " " << key << ":" << 1.0 / std::sqrt(20.0);
    out << "\n";
  }
}

// The job both cases run, on the libsvm files in `dir`.
JobSpec SparseJob(const std::string& dir, int servers) {
  JobSpec spec = FashionMnistJob({}, /*epochs=*/5, servers, 2);
  spec.mutable_model()->set_type("sparse_logistic");
  spec.mutable_model()->set_input_dim(100000);
  spec.mutable_model()->set_num_classes(2);
  spec.mutable_data()->set_format("libsvm");
  spec.mutable_data()->set_path(dir);
  spec.mutable_data()->set_train_file("train.libsvm");
  spec.mutable_data()->set_test_file("test.libsvm");
  for (auto* name : {"train_images", "train_labels", "test_images", "test_labels"}) {
    spec.mutable_data()->GetReflection()->ClearField(
        spec.mutable_data(), spec.data().GetDescriptor()->FindFieldByName(name));
  }
  spec.mutable_optimizer()->set_type("adagrad");
  spec.mutable_optimizer()->set_learning_rate(1.0f);
  spec.mutable_optimizer()->set_initial_accumulator_value(0.1f);
  spec.mutable_optimizer()->set_epsilon(1e-10f);
  spec.mutable_optimizer()->set_momentum(0);
  spec.mutable_training()->set_batch_size(32);
  spec.mutable_training()->set_staleness(0);
  return spec;
}

TEST_CASE("sparse logistic regression trains over 2 sharded servers") {
  const std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  WriteLibsvm(dir + "/train.libsvm", 4000, 1);
  WriteLibsvm(dir + "/test.libsvm", 1000, 2);
  auto cluster = InProcessCluster::Start({.servers = 2, .workers = 2});
  REQUIRE(cluster.ok());
  JobSpec spec = SparseJob(dir, 2);
  auto job = (*cluster)->RunJob(spec, absl::Minutes(3));
  REQUIRE(job.ok());
  INFO(job->error());
  REQUIRE(job->state() == SUCCEEDED);
  CHECK(job->test_accuracy() >= 0.95f);

  // Both shards hold rows, and only rows that were pushed: far fewer than
  // the 100000 keys the model could address.
  int64_t rows = 0;
  for (int i = 0; i < 2; ++i) {
    httplib::Client client("127.0.0.1", (*cluster)->server(i).ports().http_port);
    auto response = client.Get("/status");
    REQUIRE(response);
    nlohmann::json status = nlohmann::json::parse(response->body);
    REQUIRE(status["jobs"][0]["sparse_tables"].size() == 1);
    const int64_t held = status["jobs"][0]["sparse_tables"][0]["rows"].get<int64_t>();
    CHECK(held > 500);
    rows += held;
  }
  CHECK(rows <= 2000);

  // Export: every row, read page by page (37 rows a call, so each shard
  // takes many pages), equals what an observer's pull of the same keys
  // returns, bit for bit.
  auto map = (*cluster)->client().GetShardMap(job->job_id());
  REQUIRE(map.ok());
  auto sparse = cli::FetchSparseTables(*map, (*cluster)->channels(), /*page_rows=*/37);
  REQUIRE(sparse.ok());
  REQUIRE(sparse->size() == 1);
  const cli::SparseTableRows& table = (*sparse)[0];
  CHECK(static_cast<int64_t>(table.keys.size()) == rows);
  CHECK(std::is_sorted(table.keys.begin(), table.keys.end()));
  CHECK(std::adjacent_find(table.keys.begin(), table.keys.end()) == table.keys.end());
  worker::PsClientOptions observer;
  observer.job_id = map->job_id();
  observer.observer = true;
  auto client = worker::NewGrpcPsClient(*map, observer);
  std::vector<std::vector<float>> dense;
  worker::SparseStep step;
  step.keys = {table.keys};
  REQUIRE(client->Pull(0, &dense, &step).ok());
  REQUIRE(step.rows[0].size() == table.rows.size());
  CHECK(std::memcmp(step.rows[0].data(), table.rows.data(), table.rows.size() * 4) == 0);

  // The safetensors file holds the table as keys and rows, and numpy reads
  // it back to the same bytes.
  const std::string model = dir + "/model.safetensors";
  REQUIRE(cli::WriteSafetensors(model, *map, dense, *sparse).ok());
  const std::string name = map->sparse_tables(0).name();
  const std::string script = dir + "/read.py";
  std::ofstream(script) << R"(import json, struct, sys
import numpy as np
path, name, out = sys.argv[1:4]
raw = open(path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
def tensor(key, dtype):
    entry = header[key]
    begin, end = entry["data_offsets"]
    return np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
assert header["__metadata__"]["sparse_tables"] == name, header["__metadata__"]
keys = tensor(name + ".keys", "<i8").view(np.uint64)
rows = tensor(name + ".rows", "<f4")
assert header[name + ".keys"]["dtype"] == "I64" and header[name + ".rows"]["dtype"] == "F32"
assert rows.shape == (keys.shape[0], header[name + ".rows"]["shape"][1]), rows.shape
assert np.all(keys[1:] > keys[:-1]), "keys not ascending"
keys.tofile(out + ".keys")
rows.tofile(out + ".rows")
print("numpy read", keys.shape[0], "rows of dim", rows.shape[1])
)";
  const std::string out = dir + "/numpy";
  REQUIRE(std::system(("/usr/bin/python3 " + script + " " + model + " " + name + " " + out).c_str()) ==
          0);
  auto slurp = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  CHECK(slurp(out + ".keys") == std::string(reinterpret_cast<const char*>(table.keys.data()),
                                            table.keys.size() * sizeof(uint64_t)));
  CHECK(slurp(out + ".rows") == std::string(reinterpret_cast<const char*>(table.rows.data()),
                                            table.rows.size() * sizeof(float)));

  // A table the job does not have is refused by name.
  ShardMap wrong = *map;
  wrong.mutable_sparse_shards(0)->set_table("no_such_table");
  wrong.mutable_sparse_tables(0)->set_name("no_such_table");
  auto refused = cli::FetchSparseTables(wrong, (*cluster)->channels());
  CHECK(absl::IsNotFound(refused.status()));
  CHECK(refused.status().message().find("no_such_table") != std::string::npos);
}

// One shard: the client sends a table's keys and rows whole, in one copy,
// rather than routing them key by key.
TEST_CASE("on one server sparse rows go over whole, train, and pull back as exported") {
  const std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  WriteLibsvm(dir + "/train1.libsvm", 4000, 1);
  WriteLibsvm(dir + "/test1.libsvm", 1000, 2);
  auto cluster = InProcessCluster::Start({.servers = 1, .workers = 2});
  REQUIRE(cluster.ok());
  JobSpec spec = SparseJob(dir, 1);
  spec.mutable_data()->set_train_file("train1.libsvm");
  spec.mutable_data()->set_test_file("test1.libsvm");
  auto job = (*cluster)->RunJob(spec, absl::Minutes(3));
  REQUIRE(job.ok());
  INFO(job->error());
  REQUIRE(job->state() == SUCCEEDED);
  CHECK(job->test_accuracy() >= 0.95f);

  auto map = (*cluster)->client().GetShardMap(job->job_id());
  REQUIRE(map.ok());
  REQUIRE(map->sparse_shards_size() == 1);
  auto sparse = cli::FetchSparseTables(*map, (*cluster)->channels());
  REQUIRE(sparse.ok());
  const cli::SparseTableRows& table = (*sparse)[0];
  CHECK(table.keys.size() > 500);
  worker::PsClientOptions observer;
  observer.job_id = map->job_id();
  observer.observer = true;
  auto client = worker::NewGrpcPsClient(*map, observer);
  std::vector<std::vector<float>> dense;
  worker::SparseStep step;
  // Descending, not as exported: the rows come back in the order asked.
  step.keys = {std::vector<uint64_t>(table.keys.rbegin(), table.keys.rend())};
  REQUIRE(client->Pull(0, &dense, &step).ok());
  const size_t n = table.keys.size(), dim = table.rows.size() / n;
  REQUIRE(step.rows[0].size() == n * dim);
  bool same = true;
  for (size_t i = 0; i < n; ++i) {
    same = same && std::memcmp(&step.rows[0][i * dim], &table.rows[(n - 1 - i) * dim],
                               dim * sizeof(float)) == 0;
  }
  CHECK(same);
}

}  // namespace
}  // namespace petrel::testing

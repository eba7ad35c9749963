// Sparse logistic regression end to end in one process: a synthetic libsvm
// data set, keys hashed over 2 server shards, only touched rows moving.
#define CATCH_CONFIG_MAIN
#include <cstdlib>
#include <fstream>
#include <random>
#include <set>

#include "catch2/catch.hpp"
#include "httplib.h"
#include "nlohmann/json.hpp"
#include "tests/in_process_cluster.h"

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

TEST_CASE("sparse logistic regression trains over 2 sharded servers") {
  const std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  WriteLibsvm(dir + "/train.libsvm", 4000, 1);
  WriteLibsvm(dir + "/test.libsvm", 1000, 2);
  auto cluster = InProcessCluster::Start({.servers = 2, .workers = 2});
  REQUIRE(cluster.ok());

  JobSpec spec = FashionMnistJob({}, /*epochs=*/5, 2, 2);
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
}

}  // namespace
}  // namespace petrel::testing

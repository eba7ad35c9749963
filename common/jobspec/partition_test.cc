#define CATCH_CONFIG_MAIN
#include "catch2/catch.hpp"
#include "common/jobspec/model_tables.h"
#include "common/jobspec/partition.h"

namespace petrel {
namespace {

DenseTable Table(const std::string& name, std::vector<int64_t> shape) {
  DenseTable table;
  table.set_name(name);
  for (int64_t d : shape) table.add_shape(d);
  return table;
}

std::vector<ServerEndpoint> Servers(int n) {
  std::vector<ServerEndpoint> servers;
  for (int i = 0; i < n; ++i) {
    servers.push_back({"server-" + std::to_string(i), "127.0.0.1:" + std::to_string(1000 + i)});
  }
  return servers;
}

TEST_CASE("every element of every table lands on exactly one server") {
  const std::vector<DenseTable> tables = {Table("w", {784, 256}), Table("b", {10}),
                                          Table("tiny", {2})};
  for (int n : {1, 2, 3, 7}) {
    auto ranges = PartitionDenseTables(tables, Servers(n));
    REQUIRE(ranges.ok());
    for (const DenseTable& table : tables) {
      int64_t next = 0;
      int64_t smallest = TableSize(table), largest = 0;
      for (const ShardRange& range : *ranges) {
        if (range.table() != table.name()) continue;
        REQUIRE(range.begin() == next);  // contiguous, ordered, no overlap
        REQUIRE(range.end() > range.begin());
        smallest = std::min(smallest, range.end() - range.begin());
        largest = std::max(largest, range.end() - range.begin());
        next = range.end();
      }
      REQUIRE(next == TableSize(table));
      if (TableSize(table) >= n) REQUIRE(largest - smallest <= 1);
    }
  }
}

TEST_CASE("ranges name their server and its address") {
  auto ranges = PartitionDenseTables({Table("w", {10})}, Servers(2));
  REQUIRE(ranges.ok());
  REQUIRE(ranges->size() == 2);
  CHECK((*ranges)[0].server_id() == "server-0");
  CHECK((*ranges)[0].end() == 5);
  CHECK((*ranges)[1].server_address() == "127.0.0.1:1001");
}

TEST_CASE("a table smaller than the server count gets no empty ranges") {
  auto ranges = PartitionDenseTables({Table("b", {2})}, Servers(5));
  REQUIRE(ranges.ok());
  CHECK(ranges->size() == 2);
}

TEST_CASE("sparse keys spread evenly over the shards, each key to one") {
  for (int n : {1, 2, 3, 8}) {
    std::vector<int> counts(n, 0);
    for (uint64_t key = 0; key < 80000; ++key) {
      const int shard = SparseShardOf(key, n);
      REQUIRE(shard >= 0);
      REQUIRE(shard < n);
      REQUIRE(SparseShardOf(key, n) == shard);  // a pure function
      ++counts[shard];
    }
    for (int c : counts) CHECK(std::abs(c - 80000 / n) < 80000 / n / 20);  // within 5%
  }
  SparseTable table;
  table.set_name("emb");
  auto shards = PartitionSparseTables({table}, Servers(3));
  REQUIRE(shards.size() == 3);
  CHECK(shards[2].index() == 2);
  CHECK(shards[2].count() == 3);
  CHECK(shards[2].server_id() == "server-2");
}

TEST_CASE("placing with no servers is refused") {
  auto ranges = PartitionDenseTables({Table("w", {10})}, {});
  CHECK(ranges.status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("the MLP's tables have the expected names and shapes") {
  ModelSpec model;
  model.set_type("mlp");
  model.add_hidden(256);
  model.set_input_dim(784);
  model.set_num_classes(10);
  auto tables = ModelTables(model);
  REQUIRE(tables.size() == 4);
  CHECK(tables[0].name() == "layer0/weights");
  CHECK(TableSize(tables[0]) == 784 * 256);
  CHECK(tables[1].name() == "layer0/bias");
  CHECK(tables[3].name() == "layer1/bias");
  CHECK(TableSize(tables[3]) == 10);
  CHECK(tables[3].initializer() == "zeros");
}

}  // namespace
}  // namespace petrel

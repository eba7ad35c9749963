#define CATCH_CONFIG_MAIN
#include "worker/data/libsvm_reader.h"

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "worker/data/idx_test_util.h"

namespace petrel::data {
namespace {

using testing::TempDir;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

std::string WriteText(const std::string& name, const std::string& text, bool gzip = false) {
  return testing::WriteFile(name, std::vector<uint8_t>(text.begin(), text.end()), gzip);
}

TEST_CASE("LoadLibsvm parses labels, features, comments and blank lines") {
  for (bool gzip : {false, true}) {
    INFO("gzip=" << gzip);
    const std::string path = WriteText("basic.libsvm",
                                       "# a header comment\n"
                                       "+1 3:0.5 1:2\n"
                                       "\n"
                                       "-1 7:-1.25e-3   # trailing comment\n"
                                       "   \t \n"
                                       "0\n"
                                       "1\t0:1 18446744073709551615:4\r\n"
                                       "5 2:1.0",  // no final newline, class 5
                                       gzip);
    auto data = LoadLibsvm(path);
    REQUIRE(data.ok());
    CHECK(data->num_examples() == 5);
    CHECK(data->labels == std::vector<int32_t>{1, 0, 0, 1, 5});
    CHECK(data->offsets == std::vector<int64_t>{0, 2, 3, 3, 5, 6});
    // Keys keep their order in the file.
    CHECK(data->keys == std::vector<uint64_t>{3, 1, 7, 0, 18446744073709551615ull, 2});
    CHECK(data->values == std::vector<float>{0.5f, 2.f, -1.25e-3f, 1.f, 4.f, 1.f});
  }
}

TEST_CASE("LibsvmReader::Next streams examples and reports the end") {
  const std::string path = WriteText("stream.libsvm", "1 1:1\n0 2:2 3:3\n");
  auto reader = LibsvmReader::Open(path);
  REQUIRE(reader.ok());
  SparseExample example;
  auto next = (*reader)->Next(&example);
  REQUIRE(next.ok());
  CHECK(*next);
  CHECK(example.label == 1);
  CHECK(example.keys == std::vector<uint64_t>{1});
  next = (*reader)->Next(&example);
  REQUIRE(next.ok());
  CHECK(*next);
  CHECK(example.label == 0);
  CHECK(example.keys == std::vector<uint64_t>{2, 3});
  CHECK(example.values == std::vector<float>{2.f, 3.f});
  next = (*reader)->Next(&example);
  REQUIRE(next.ok());
  CHECK_FALSE(*next);
  next = (*reader)->Next(&example);  // stays at the end
  REQUIRE(next.ok());
  CHECK_FALSE(*next);
}

TEST_CASE("Sharding puts every example in exactly one shard, by data-line index") {
  // Example i has label i % 2 and the single key i; comments and blank lines
  // between them must not shift the assignment.
  std::string text;
  const int n = 23;
  for (int i = 0; i < n; ++i) {
    if (i % 4 == 0) text += "# comment\n\n";
    text += std::to_string(i % 2) + " " + std::to_string(i) + ":1\n";
  }
  const std::string path = WriteText("shards.libsvm", text);
  for (int num_shards : {1, 2, 3, 5, 30}) {
    INFO("num_shards=" << num_shards);
    std::vector<int> seen(n, 0);
    for (int shard = 0; shard < num_shards; ++shard) {
      auto data = LoadLibsvm(path, shard, num_shards);
      REQUIRE(data.ok());
      for (uint64_t key : data->keys) {
        CHECK(static_cast<int>(key) % num_shards == shard);
        ++seen[key];
      }
    }
    for (int i = 0; i < n; ++i) CHECK(seen[i] == 1);
  }
}

TEST_CASE("LibsvmReader rejects bad shard arguments") {
  const std::string path = WriteText("ok.libsvm", "1 1:1\n");
  CHECK(LibsvmReader::Open(path, 2, 2).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(LibsvmReader::Open(path, -1, 2).status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(LoadLibsvm(path, 0, 0).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("A missing file is NOT_FOUND naming the path") {
  const std::string path = TempDir() + "/no-such.libsvm";
  auto data = LoadLibsvm(path);
  CHECK(data.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(Message(data.status()), Catch::Contains(path));
}

TEST_CASE("Malformed lines are INVALID_ARGUMENT naming the file, line and fault") {
  struct Case {
    std::string bad_line;
    std::string what;
  };
  const std::vector<Case> cases = {
      {"spam 1:1", "bad label \"spam\""},
      {"1.5 1:1", "bad label \"1.5\""},
      {"-2 1:1", "bad label \"-2\""},
      {"1 4", "feature \"4\" has no ':'"},
      {"1 x:1", "bad feature index \"x\""},
      {"1 -3:1", "bad feature index \"-3\""},
      {"1 :1", "bad feature index \"\""},
      {"1 4:abc", "bad value \"abc\" for feature 4"},
      {"1 4:", "bad value \"\" for feature 4"},
      {"1 4:nan", "NaN value for feature 4"},
      {"1 4:inf", "infinite value"},
      {"1 9:1 4:1 9:2", "duplicate feature index 9"},
  };
  for (const Case& c : cases) {
    INFO(c.bad_line);
    // Line 4 of the file: a comment, a good line and a blank line come first.
    const std::string path = WriteText("bad.libsvm", "# header\n1 1:1\n\n" + c.bad_line + "\n");
    auto data = LoadLibsvm(path);
    CHECK(data.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(Message(data.status()), Catch::StartsWith(path + ":4: ") && Catch::Contains(c.what));
  }
}

TEST_CASE("A malformed line is reported by the shard that owns it") {
  const std::string path = WriteText("owned.libsvm", "1 1:1\n1 2:x\n");
  CHECK(LoadLibsvm(path, 0, 2).ok());
  auto bad = LoadLibsvm(path, 1, 2);
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(Message(bad.status()), Catch::Contains(":2: "));
}

TEST_CASE("A truncated gzip file is DATA_LOSS") {
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "1 " + std::to_string(i) + ":1 7:0.25\n";
  const std::string full = WriteText("trunc.libsvm.gz", text, /*gzip=*/true);
  std::vector<uint8_t> bytes;
  {
    std::ifstream in(full, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  bytes.resize(bytes.size() / 2);
  const std::string path = testing::WriteFile("trunc2.libsvm.gz", bytes, /*gzip=*/false);
  auto data = LoadLibsvm(path);
  CHECK(data.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(Message(data.status()), Catch::Contains(path));
}

}  // namespace
}  // namespace petrel::data

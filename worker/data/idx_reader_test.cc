#define CATCH_CONFIG_MAIN
#include "worker/data/idx_reader.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "worker/data/idx_test_util.h"

namespace petrel::data {
namespace {

using testing::IdxBytes;
using testing::WriteFile;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST_CASE("ReadIdxFile reads raw and gzip files alike") {
  std::vector<uint8_t> data(2 * 3 * 4);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 11);
  // Dimensions above 255 check the big-endian decoding.
  std::vector<uint8_t> wide(300, 7);
  for (bool gzip : {false, true}) {
    INFO("gzip=" << gzip);
    auto array = ReadIdxFile(WriteFile(gzip ? "a.gz" : "a", IdxBytes({2, 3, 4}, data), gzip));
    REQUIRE(array.ok());
    CHECK(array->dims == std::vector<int64_t>{2, 3, 4});
    CHECK(array->data == data);

    auto vector = ReadIdxFile(WriteFile("w", IdxBytes({300}, wide), gzip));
    REQUIRE(vector.ok());
    CHECK(vector->dims == std::vector<int64_t>{300});
    CHECK(vector->data == wide);
  }
}

TEST_CASE("ReadIdxFile reports a missing file as NOT_FOUND with its path") {
  const std::string path = testing::TempDir() + "/does-not-exist.gz";
  auto array = ReadIdxFile(path);
  CHECK(array.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(Message(array.status()), Catch::Contains(path));
}

TEST_CASE("ReadIdxFile rejects a bad magic number") {
  for (bool gzip : {false, true}) {
    auto bytes = IdxBytes({2}, {1, 2});
    bytes[2] = 0x0D;  // float data
    const std::string path = WriteFile("magic", bytes, gzip);
    auto array = ReadIdxFile(path);
    CHECK(array.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(Message(array.status()), Catch::Contains(path) && Catch::Contains("magic"));
  }
}

TEST_CASE("ReadIdxFile reports truncation with expected and actual sizes") {
  for (bool gzip : {false, true}) {
    auto bytes = IdxBytes({10, 10}, std::vector<uint8_t>(100, 1));
    bytes.resize(bytes.size() - 30);
    const std::string path = WriteFile("short", bytes, gzip);
    auto array = ReadIdxFile(path);
    CHECK(array.status().code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(Message(array.status()), Catch::Contains(path) &&
                                            Catch::Contains("expected 100") &&
                                            Catch::Contains("got 70"));
  }
  // Two dimensions announced, only two of their eight bytes present.
  auto header = ReadIdxFile(WriteFile("header", {0, 0, 8, 2, 0, 0}, false));
  CHECK(header.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(Message(header.status()), Catch::Contains("expected 8") && Catch::Contains("got 2"));
  CHECK(ReadIdxFile(WriteFile("empty", {}, false)).status().code() ==
        absl::StatusCode::kDataLoss);
}

// Found by tests/fuzz: the reader allocated what the header announced (here
// 16 GiB) before finding the file short; now memory follows the data read.
TEST_CASE("ReadIdxFile finds a short file without allocating its header's size") {
  for (bool gzip : {false, true}) {
    auto array = ReadIdxFile(WriteFile("huge", IdxBytes({1 << 17, 1 << 17}, {1, 2, 3}), gzip));
    CHECK(array.status().code() == absl::StatusCode::kDataLoss);
    CHECK_THAT(Message(array.status()),
               Catch::Contains("expected 17179869184") && Catch::Contains("got 3"));
  }
  // Data longer than one 16 MiB piece is read whole.
  std::vector<uint8_t> data((1 << 24) + 5);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7);
  auto big = ReadIdxFile(WriteFile("big", IdxBytes({static_cast<uint32_t>(data.size())}, data),
                                   false));
  REQUIRE(big.ok());
  CHECK(big->data == data);
}

TEST_CASE("ReadIdxFile rejects trailing bytes") {
  auto bytes = IdxBytes({2}, {1, 2, 3});
  auto array = ReadIdxFile(WriteFile("long", bytes, true));
  CHECK(array.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(Message(array.status()), Catch::Contains("trailing"));
}

}  // namespace
}  // namespace petrel::data

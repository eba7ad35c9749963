#define CATCH_CONFIG_MAIN
#include "checkpoint/checkpoint_file.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "catch2/catch.hpp"

namespace petrel::server {
namespace {

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : std::filesystem::temp_directory_path().string();
}

ShardCheckpoint Sample() {
  ShardCheckpoint checkpoint;
  checkpoint.set_job_id("job-7");
  checkpoint.set_server_id("server-1");
  checkpoint.set_clock(40);
  RangeState* range = checkpoint.add_ranges();
  range->set_table("layer0/weights");
  range->set_begin(100);
  range->set_end(104);
  range->set_values(std::string(16, '\x11'));
  range->set_state_slots(1);
  range->set_optimizer_state(std::string(16, '\x22'));
  WorkerClock* clock = checkpoint.add_worker_clocks();
  clock->set_worker_id("worker-0");
  clock->set_clock(40);
  return checkpoint;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

TEST_CASE("a checkpoint file reads back as written, and no temp file is left") {
  const std::string dir = TempDir() + "/roundtrip";
  std::filesystem::create_directories(dir);
  const std::string path = dir + "/server-1.ckpt";
  REQUIRE(WriteCheckpointFile(path, Sample()).ok());
  auto read = ReadCheckpointFile(path);
  REQUIRE(read.ok());
  CHECK(read->SerializeAsString() == Sample().SerializeAsString());
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    CHECK(entry.path().filename() == "server-1.ckpt");
  }
  CHECK(files == 1);
  // Rewriting replaces it whole.
  ShardCheckpoint later = Sample();
  later.set_clock(80);
  REQUIRE(WriteCheckpointFile(path, later).ok());
  CHECK(ReadCheckpointFile(path)->clock() == 80);
}

TEST_CASE("a damaged checkpoint is refused whole, naming the file") {
  const std::string path = TempDir() + "/damaged.ckpt";
  REQUIRE(WriteCheckpointFile(path, Sample()).ok());
  const std::string good = ReadBytes(path);

  SECTION("any one flipped byte") {
    // Every byte of the file: header, payload and checksum alike.
    for (size_t at = 0; at < good.size(); ++at) {
      std::string bad = good;
      bad[at] ^= 0x01;
      WriteBytes(path, bad);
      auto read = ReadCheckpointFile(path);
      INFO("byte " << at);
      REQUIRE_FALSE(read.ok());
      CHECK(read.status().code() == absl::StatusCode::kDataLoss);
      CHECK(read.status().message().find(path) != std::string::npos);
    }
  }
  SECTION("truncated") {
    WriteBytes(path, good.substr(0, good.size() - 1));
    auto read = ReadCheckpointFile(path);
    CHECK(read.status().code() == absl::StatusCode::kDataLoss);
    CHECK(read.status().message().find("truncated") != std::string::npos);
  }
  SECTION("not a checkpoint at all") {
    WriteBytes(path, "model:\n  type: mlp\n" + std::string(64, ' '));
    auto read = ReadCheckpointFile(path);
    CHECK(read.status().code() == absl::StatusCode::kDataLoss);
    CHECK(read.status().message().find("bad magic") != std::string::npos);
  }
  SECTION("missing") {
    auto read = ReadCheckpointFile(path + ".nope");
    CHECK(read.status().code() == absl::StatusCode::kNotFound);
  }
}

TEST_CASE("an unwritable place is an error that names it") {
  absl::Status status = WriteCheckpointFile("/proc/petrel-no-such-dir/x.ckpt", Sample());
  CHECK_FALSE(status.ok());
  CHECK(status.message().find("/proc/petrel-no-such-dir/x.ckpt") != std::string::npos);
}

}  // namespace
}  // namespace petrel::server

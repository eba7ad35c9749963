// StateStore: what is saved loads back whole; no file is an empty state; a
// torn or corrupt file is refused with an error naming it and is left as it
// was on disk (the coordinator refuses to start rather than forget jobs).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "common/durable_file.h"
#include "coordinator/state_store.h"

namespace petrel::coordinator {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the test's scratch space.
std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/state_store_test/" + name;
  fs::remove_all(dir);
  return dir;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteAll(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

CoordinatorState SampleState() {
  CoordinatorState state;
  state.set_next_job(3);
  state.set_next_server(2);
  state.set_next_worker(1);
  NodeRecord* node = state.add_nodes();
  node->set_id("server-1");
  node->set_role(SERVER);
  node->mutable_info()->set_grpc_address("127.0.0.1:9001");
  JobRecord* job = state.add_jobs();
  job->mutable_status()->set_job_id("job-2");
  job->mutable_status()->set_state(RUNNING);
  job->mutable_shard_map()->set_epoch(4);
  job->add_workers()->set_worker_id("worker-0");
  job->set_attempt(1);
  job->set_restore_clock(200);
  return state;
}

TEST_CASE("a saved state loads back equal") {
  const StateStore store(FreshDir("roundtrip"));
  REQUIRE(store.Save(SampleState()).ok());  // creates the directory
  absl::StatusOr<CoordinatorState> loaded = store.Load();
  REQUIRE(loaded.ok());
  CHECK(loaded->SerializeAsString() == SampleState().SerializeAsString());

  // A second save replaces the first whole.
  CoordinatorState next = SampleState();
  next.set_next_job(4);
  next.clear_nodes();
  REQUIRE(store.Save(next).ok());
  loaded = store.Load();
  REQUIRE(loaded.ok());
  CHECK(loaded->SerializeAsString() == next.SerializeAsString());
}

TEST_CASE("a directory with no state file yet is an empty state") {
  const StateStore store(FreshDir("empty"));
  absl::StatusOr<CoordinatorState> loaded = store.Load();
  REQUIRE(loaded.ok());
  CHECK(loaded->ByteSizeLong() == 0);
  CHECK_FALSE(fs::exists(store.path()));  // loading creates nothing
}

// Loads a damaged state file: refused with DATA_LOSS naming it, and the file
// is left as it was.
void ExpectRefused(const StateStore& store, const std::string& why) {
  const std::string bytes = ReadAll(store.path());
  absl::StatusOr<CoordinatorState> loaded = store.Load();
  REQUIRE_FALSE(loaded.ok());
  INFO(loaded.status().ToString());
  CHECK(loaded.status().code() == absl::StatusCode::kDataLoss);
  CHECK(loaded.status().message().find(store.path()) != absl::string_view::npos);
  CHECK(loaded.status().message().find(why) != absl::string_view::npos);
  CHECK(ReadAll(store.path()) == bytes);
}

TEST_CASE("a torn state file is refused") {
  const StateStore store(FreshDir("torn"));
  REQUIRE(store.Save(SampleState()).ok());
  const std::string whole = ReadAll(store.path());
  WriteAll(store.path(), whole.substr(0, whole.size() - 5));
  ExpectRefused(store, "truncated");
  WriteAll(store.path(), whole.substr(0, 10));
  ExpectRefused(store, "shorter than any coordinator state");
}

TEST_CASE("a state file with a flipped byte is refused") {
  const StateStore store(FreshDir("flipped"));
  REQUIRE(store.Save(SampleState()).ok());
  std::string bytes = ReadAll(store.path());
  bytes[bytes.size() / 2] ^= 0x40;  // in the payload
  WriteAll(store.path(), bytes);
  ExpectRefused(store, "SHA-256 mismatch");
}

TEST_CASE("a file of another kind in the state file's place is refused") {
  const StateStore store(FreshDir("foreign"));
  REQUIRE(store.Save(SampleState()).ok());
  // A checkpoint, whole and valid, where the state should be.
  REQUIRE(WriteDurableFile(store.path(), {"PETRELCK", 1, "checkpoint"}, "x").ok());
  ExpectRefused(store, "bad magic");
}

TEST_CASE("a whole file whose payload is no CoordinatorState is refused") {
  const StateStore store(FreshDir("garbage"));
  REQUIRE(store.Save(SampleState()).ok());
  // The container is the state store's own (common/durable_file.h); only the
  // payload is wrong: a field tag with no value.
  REQUIRE(WriteDurableFile(store.path(), {"PETRELST", 1, "coordinator state"}, "\x0a").ok());
  ExpectRefused(store, "the payload does not parse");
}

TEST_CASE("a state directory that cannot be made is an error, and nothing is written") {
  const std::string dir = FreshDir("blocked");
  fs::create_directories(fs::path(dir).parent_path());
  WriteAll(dir, "a file where the directory should be");
  const StateStore store(dir + "/state");
  const absl::Status saved = store.Save(SampleState());
  REQUIRE_FALSE(saved.ok());
  CHECK(saved.message().find("cannot create the state directory") != absl::string_view::npos);
  CHECK(ReadAll(dir) == "a file where the directory should be");
}

}  // namespace
}  // namespace petrel::coordinator

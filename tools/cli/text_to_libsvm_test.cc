#define CATCH_CONFIG_MAIN
#include "tools/cli/text_to_libsvm.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "worker/data/libsvm_reader.h"

namespace petrel::cli {
namespace {

namespace fs = std::filesystem;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// A fresh directory under Bazel's TEST_TMPDIR (else /tmp).
fs::path FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(tmp != nullptr ? tmp : "/tmp") / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void Write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// spam-1 (label 1): 6 files, ham (label 0): 7 files over two subdirectories,
// one nested; plus files that must be skipped.
fs::path MakeTree(const std::string& name) {
  const fs::path root = FreshDir(name);
  for (int i = 0; i < 6; ++i) {
    Write(root / "spam-1" / (std::to_string(i) + ".txt"),
          "Subject: FREE money " + std::to_string(i) + "!!! \xff\xfe caf\xc3\xa9");
  }
  for (int i = 0; i < 4; ++i) {
    Write(root / "easy-ham-1" / (std::to_string(i) + ".txt"), "Meeting at " + std::to_string(i));
  }
  for (int i = 0; i < 3; ++i) {
    Write(root / "hard-ham-1" / "nested" / (std::to_string(i) + ".txt"), "re: build " + std::to_string(i));
  }
  Write(root / "spam-1" / "0.json", "{\"text\": \"skipped: wrong suffix\"}");
  Write(root / "unlabelled" / "x.txt", "skipped: unmapped subdirectory");
  Write(root / "top.txt", "skipped: not in a subdirectory");
  return root;
}

TextToLibsvmOptions Options(const fs::path& input, const fs::path& output) {
  TextToLibsvmOptions options;
  options.input_dir = input.string();
  options.output_dir = output.string();
  options.labels = {{"spam-1", 1}, {"easy-ham-1", 0}, {"hard-ham-1", 0}};
  options.suffix = ".txt";
  options.hash_bits = 10;
  options.test_fraction = 0.3;
  return options;
}

TEST_CASE("Fnv1a64 matches the published test vectors") {
  CHECK(Fnv1a64("") == 0xcbf29ce484222325ull);
  CHECK(Fnv1a64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(Fnv1a64("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("HashedBuckets lower-cases, splits on non-alphanumerics and dedups") {
  const int bits = 20;
  const uint64_t mask = (1u << bits) - 1;
  auto buckets = HashedBuckets("Hello, HELLO world!\n\xc3\xa9t\xc3\xa9 x2y--hello", bits);
  std::set<uint64_t> want = {Fnv1a64("hello") & mask, Fnv1a64("world") & mask,
                             Fnv1a64("t") & mask, Fnv1a64("x2y") & mask};
  CHECK(buckets == std::vector<uint64_t>(want.begin(), want.end()));
  CHECK(HashedBuckets("", bits).empty());
  CHECK(HashedBuckets("!!! \x01\xff", bits).empty());
  for (uint64_t b : HashedBuckets("many different tokens here", 3)) CHECK(b < 8);
}

TEST_CASE("LibsvmLine writes sorted buckets with L2-normalised binary values") {
  CHECK(LibsvmLine(1, {}) == "1");
  CHECK(LibsvmLine(0, {3, 7, 9, 12}) == "0 3:0.5 7:0.5 9:0.5 12:0.5");
}

TEST_CASE("ParseLabelSpecs reads repeated and comma-separated specs") {
  auto labels = ParseLabelSpecs({"spam-1=1,spam-2=1", "easy-ham-1=0", " hard-ham-1 = 0 "});
  REQUIRE(labels.ok());
  CHECK(*labels == std::map<std::string, int32_t>{
                       {"spam-1", 1}, {"spam-2", 1}, {"easy-ham-1", 0}, {"hard-ham-1", 0}});
  for (const std::string bad : {"spam-1", "=1", "spam-1=x", "spam-1=-1", "a/b=1", "spam=1,spam=0"}) {
    INFO(bad);
    auto parsed = ParseLabelSpecs({bad});
    CHECK(parsed.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(Message(parsed.status()), Catch::Contains("bad label spec"));
  }
}

TEST_CASE("IsTestExample is seeded, stable and near the asked fraction") {
  int test = 0;
  int differ = 0;
  for (int i = 0; i < 10000; ++i) {
    const std::string path = "spam-1/" + std::to_string(i) + ".txt";
    test += IsTestExample(1, path, 0.2);
    differ += IsTestExample(1, path, 0.2) != IsTestExample(2, path, 0.2);
    CHECK(IsTestExample(1, path, 0.2) == IsTestExample(1, path, 0.2));
    CHECK_FALSE(IsTestExample(1, path, 0.0));
    CHECK(IsTestExample(1, path, 1.0));
  }
  CHECK(std::abs(test - 2000) < 200);
  CHECK(differ > 1000);
}

TEST_CASE("TextToLibsvm converts a tree into train and test files the reader accepts") {
  const fs::path input = MakeTree("tree");
  const fs::path output = FreshDir("out") / "libsvm";  // created by TextToLibsvm
  TextToLibsvmOptions options = Options(input, output);
  auto counts = TextToLibsvm(options);
  REQUIRE(counts.ok());
  CHECK(counts->train + counts->test == 13);
  CHECK(counts->skipped == 3);
  CHECK(counts->train_by_label[1] + counts->test_by_label[1] == 6);
  CHECK(counts->train_by_label[0] + counts->test_by_label[0] == 7);
  CHECK(counts->test > 0);
  CHECK(counts->train > 0);

  int64_t total = 0;
  for (const char* name : {"train.libsvm", "test.libsvm"}) {
    INFO(name);
    auto data = data::LoadLibsvm((output / name).string());
    REQUIRE(data.ok());
    CHECK(data->num_examples() == (std::string(name) == "train.libsvm" ? counts->train : counts->test));
    total += data->num_examples();
    for (int64_t i = 0; i < data->num_examples(); ++i) {
      const int64_t begin = data->offsets[i];
      const int64_t end = data->offsets[i + 1];
      REQUIRE(end > begin);
      double norm = 0;
      for (int64_t j = begin; j < end; ++j) {
        CHECK(data->keys[j] < 1024);
        if (j > begin) CHECK(data->keys[j] > data->keys[j - 1]);
        norm += data->values[j] * data->values[j];
      }
      CHECK(norm == Approx(1.0).epsilon(1e-5));
    }
  }
  CHECK(total == 13);
  // No temporary files are left behind.
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(output)) entries += entry.exists();
  CHECK(entries == 2);

  SECTION("the output depends only on the files and options, not on listing order") {
    const std::string train = Read(output / "train.libsvm");
    const std::string test = Read(output / "test.libsvm");
    // More unlabelled files change the listing but not the labelled examples.
    Write(input / "unlabelled" / "more.txt", "more");
    REQUIRE(TextToLibsvm(options).ok());
    CHECK(Read(output / "train.libsvm") == train);
    CHECK(Read(output / "test.libsvm") == test);
    options.seed = 99;
    REQUIRE(TextToLibsvm(options).ok());
    CHECK(Read(output / "train.libsvm") + Read(output / "test.libsvm") != train + test);
  }
}

TEST_CASE("TextToLibsvm errors name what is wrong") {
  const fs::path input = MakeTree("errors");
  const fs::path output = FreshDir("errors-out");
  TextToLibsvmOptions options = Options(input, output);

  SECTION("missing input folder") {
    options.input_dir = (input / "nope").string();
    auto counts = TextToLibsvm(options);
    CHECK(counts.status().code() == absl::StatusCode::kNotFound);
    CHECK_THAT(Message(counts.status()), Catch::Contains(options.input_dir));
  }
  SECTION("missing labelled subdirectory") {
    options.labels["spam-2"] = 1;
    auto counts = TextToLibsvm(options);
    CHECK(counts.status().code() == absl::StatusCode::kNotFound);
    CHECK_THAT(Message(counts.status()), Catch::Contains("spam-2"));
  }
  SECTION("bad options") {
    options.hash_bits = 0;
    CHECK(TextToLibsvm(options).status().code() == absl::StatusCode::kInvalidArgument);
    options.hash_bits = 10;
    options.test_fraction = 1.5;
    CHECK(TextToLibsvm(options).status().code() == absl::StatusCode::kInvalidArgument);
    options.test_fraction = 0.2;
    options.labels.clear();
    CHECK(TextToLibsvm(options).status().code() == absl::StatusCode::kInvalidArgument);
  }
  SECTION("an unreadable file is named and nothing is written") {
    const fs::path broken = input / "spam-1" / "broken.txt";
    fs::create_symlink(input / "does-not-exist", broken);
    auto counts = TextToLibsvm(options);
    CHECK_FALSE(counts.ok());
    CHECK_THAT(Message(counts.status()), Catch::Contains(broken.string()));
    CHECK(fs::is_empty(output));
  }
  SECTION("a file without read permission is named (when not root)") {
    if (geteuid() != 0) {
      const fs::path secret = input / "easy-ham-1" / "secret.txt";
      Write(secret, "secret");
      fs::permissions(secret, fs::perms::none);
      auto counts = TextToLibsvm(options);
      CHECK(counts.status().code() == absl::StatusCode::kPermissionDenied);
      CHECK_THAT(Message(counts.status()), Catch::Contains(secret.string()));
    }
  }
}

}  // namespace
}  // namespace petrel::cli

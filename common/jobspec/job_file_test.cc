#define CATCH_CONFIG_MAIN
#include "common/jobspec/job_file.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"
#include "common/jobspec/job_file_test_util.h"
#include "common/jobspec/model_tables.h"


namespace petrel {
namespace {

using namespace job_file_test;  // NOLINT: the shared test fixtures

TEST_CASE("the MLP example parses and validates") {
  absl::StatusOr<JobSpec> spec = ParseJobFile("examples/fashion_mnist_mlp.yaml");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  CHECK(spec->name() == "fashion-mnist-mlp");
  CHECK(spec->model().type() == "mlp");
  REQUIRE(spec->model().hidden_size() == 1);
  CHECK(spec->model().hidden(0) == 256);
  CHECK(spec->model().input_dim() == 784);
  CHECK(spec->model().num_classes() == 10);
  CHECK(spec->data().path() == "/usr/share/datasets/fashion-mnist");
  CHECK(spec->optimizer().type() == "momentum");
  CHECK(spec->optimizer().momentum() == Approx(0.9));
  CHECK(spec->training().batch_size() == 64);
  CHECK(spec->cluster().servers() == 2);
  CHECK(spec->cluster().workers() == 2);
  CHECK(spec->cluster().device() == "auto");
  CHECK(spec->output().model_path().empty());
  CHECK(ValidateJobSpec(*spec).ok());
  // The dataset is there on machines set up by tools/setup.
  if (std::filesystem::exists("/usr/share/datasets/fashion-mnist")) {
    absl::Status data = CheckDataFiles(*spec);
    INFO(data.ToString());
    CHECK(data.ok());
  }
}

TEST_CASE("the softmax example parses and validates") {
  absl::StatusOr<JobSpec> spec =
      ParseJobFile("examples/fashion_mnist_softmax.yaml");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  CHECK(spec->name() == "fashion-mnist-softmax");
  CHECK(spec->model().type() == "softmax");
  CHECK(spec->model().hidden_size() == 0);
  CHECK(spec->optimizer().type() == "sgd");
  CHECK(spec->optimizer().momentum() == 0);
  CHECK(spec->training().batch_size() == 64);
  CHECK(spec->cluster().servers() == 2);
  CHECK(spec->cluster().workers() == 2);
  CHECK(ValidateJobSpec(*spec).ok());
}

TEST_CASE("defaults are filled in") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(kMinimal, "jobs/tiny.yaml");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  CHECK(spec->name() == "tiny");
  CHECK(spec->model().initializer() == "glorot_uniform");
  CHECK(spec->data().format() == "idx");
  CHECK(spec->data().train_images() == "train-images-idx3-ubyte.gz");
  CHECK(spec->data().train_labels() == "train-labels-idx1-ubyte.gz");
  CHECK(spec->data().test_images() == "t10k-images-idx3-ubyte.gz");
  CHECK(spec->data().test_labels() == "t10k-labels-idx1-ubyte.gz");
  CHECK(spec->optimizer().type() == "sgd");
  CHECK(spec->optimizer().momentum() == 0);
  CHECK(spec->training().epochs() == 1);
  CHECK(spec->training().staleness() == 0);
  CHECK(spec->training().seed() == 1);
  CHECK(spec->training().eval_every_steps() == 200);
  CHECK(spec->training().stall_timeout_seconds() == 30);
  CHECK(spec->cluster().servers() == 1);
  CHECK(spec->cluster().workers() == 1);
  CHECK(spec->cluster().replication() == 1);
  CHECK(spec->cluster().device() == "auto");
  CHECK(spec->checkpoint().every_clocks() == 0);
  CHECK(spec->output().model_path().empty());
}

TEST_CASE("momentum defaults to 0.9 for the momentum optimizer only") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      Replace(kMinimal, "optimizer:\n", "optimizer:\n  type: momentum\n"),
      "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().momentum() == Approx(0.9));

  spec = ParseJobYaml(Replace(kMinimal, "optimizer:\n",
                              "optimizer:\n  type: momentum\n  momentum: 0\n"),
                      "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().momentum() == 0);
}

TEST_CASE("a wrongly typed value names the field, its line and the fix") {
  const std::string message = ParseError(
      Replace(kMinimal, "batch_size: 32", "batch_size: abc"));
  CHECK(message ==
        "job.yaml:11: training.batch_size must be a positive integer, got "
        "\"abc\"");
  CHECK(absl::StartsWith(
      ParseError(Replace(kMinimal, "learning_rate: 0.1", "learning_rate: [1]")),
      "job.yaml:9: optimizer.learning_rate must be a positive number"));
  CHECK(absl::StartsWith(
      ParseError(Replace(kMinimal, "[32, 16]", "[32, x]")),
      "job.yaml:3: model.hidden[1] must be a positive integer, got \"x\""));
}

TEST_CASE("an unknown field names its path and lists the known ones") {
  const std::string message =
      ParseError(Replace(kMinimal, "  hidden:", "  hiden:"));
  INFO(message);
  CHECK(absl::StartsWith(
      message,
      "job.yaml:3: unknown field \"model.hiden\" (known fields of model: "
      "type, hidden, input_dim, num_classes, initializer, init_scale, "
                 "max_rows)"));
  CHECK(absl::StrContains(message, "did you mean \"model.hidden\"?"));
}

TEST_CASE("an unknown section names it and lists the known ones") {
  const std::string message =
      ParseError(std::string(kMinimal) + "clustr:\n  servers: 2\n");
  INFO(message);
  CHECK(absl::StartsWith(message, "job.yaml:12: unknown section \"clustr\""));
  CHECK(absl::StrContains(message, "cluster, checkpoint, output"));
  CHECK(absl::StrContains(message, "did you mean \"cluster\"?"));
}

TEST_CASE("a field given twice is refused") {
  const std::string message =
      ParseError(std::string(kMinimal) + "  batch_size: 64\n");
  INFO(message);
  CHECK(absl::StartsWith(message, "job.yaml:12: \"training.batch_size\""));
  CHECK(absl::StrContains(message, "line 11"));
}

TEST_CASE("a section that is not a mapping is refused") {
  const std::string message =
      ParseError(Replace(kMinimal, "training:\n  batch_size: 32\n",
                         "training: fast\n"));
  INFO(message);
  CHECK(absl::StartsWith(message,
                         "job.yaml:10: training must be a mapping of fields"));
}

TEST_CASE("broken YAML gives yaml-cpp's message with the line") {
  const std::string message =
      ParseError(Replace(kMinimal, "  hidden: [32, 16]\n", "  hidden: [32, 16\n"));
  INFO(message);
  CHECK(absl::StartsWith(message, "job.yaml:"));
  CHECK(absl::StrContains(message, "invalid YAML: "));

  const std::string bad_indent =
      ParseError(Replace(kMinimal, "  input_dim: 784\n", " input_dim: 784\n"));
  INFO(bad_indent);
  CHECK(absl::StartsWith(bad_indent, "job.yaml:4: invalid YAML: "));
}

// Found by tests/fuzz: the coordinator could not parse a spec holding such
// bytes (proto3 strings are UTF-8), so the parser refuses them first.
TEST_CASE("text that is not UTF-8 is refused with its line and column") {
  CHECK(ParseError(Replace(kMinimal, "/tmp/data", "/tmp/d\xe9ta")) ==
        "job.yaml:7: not UTF-8 text: byte 0xe9 at column 15");
  CHECK(ParseError("\xff") == "job.yaml:1: not UTF-8 text: byte 0xff at column 1");
  // Overlong forms and surrogates are not UTF-8 either; real characters are.
  CHECK(absl::StrContains(ParseError(Replace(kMinimal, "/tmp/data", "/tmp/\xc0\xafx")),
                          "byte 0xc0"));
  CHECK(absl::StrContains(ParseError(Replace(kMinimal, "/tmp/data", "/tmp/\xed\xa0\x80")),
                          "byte 0xed"));
  const std::string unicode = "/tmp/d\xc3\xa9t\xe2\x82\xac\xf0\x9f\x90\xa6";  // é, €, a bird
  CHECK(ParseJobYaml(Replace(kMinimal, "/tmp/data", unicode), "job.yaml").ok());
}

TEST_CASE("a missing required field is named, with its section's line") {
  std::string message =
      ParseError(Replace(kMinimal, "  input_dim: 784\n", ""));
  INFO(message);
  CHECK(absl::StartsWith(
      message, "job.yaml:1: missing required field \"model.input_dim\""));
  CHECK(absl::StrContains(message, "input_dim: 784"));

  message = ParseError(Replace(kMinimal, "  batch_size: 32\n", ""));
  CHECK(absl::StartsWith(
      message, "job.yaml:10: missing required field \"training.batch_size\""));

  // A key with no value counts as missing.
  message = ParseError(Replace(kMinimal, "path: /tmp/data", "path:"));
  CHECK(absl::StartsWith(message,
                         "job.yaml:7: missing required field \"data.path\""));

  message = ParseError("");
  CHECK(absl::StartsWith(message,
                         "job.yaml:1: missing required field \"model.type\""));
}

TEST_CASE("a file that is not a mapping is refused") {
  CHECK(absl::StartsWith(ParseError("- model\n- data\n"),
                         "job.yaml:1: a job file must be a mapping"));
}

TEST_CASE("semantic errors carry the line of the offending field") {
  CHECK(ParseError(Replace(kMinimal, "type: mlp", "type: cnn")) ==
        "job.yaml:2: model.type must be \"softmax\", \"mlp\" or "
        "\"sparse_logistic\", got \"cnn\"");
  CHECK(absl::StartsWith(
      ParseError(Replace(kMinimal, "batch_size: 32", "batch_size: 0")),
      "job.yaml:11: training.batch_size must be a positive integer, got 0"));
  CHECK(absl::StartsWith(
      ParseError(Replace(kMinimal, "[32, 16]", "[32, 0]")),
      "job.yaml:3: model.hidden[1] must be a positive integer, got 0"));
  CHECK(absl::StartsWith(
      ParseError(Replace(kMinimal, "type: mlp", "type: softmax")),
      "job.yaml:3: model.hidden must be empty for model.type \"softmax\""));
  CHECK(absl::StartsWith(
      ParseError(Replace(kMinimal, "  hidden: [32, 16]\n", "")),
      "job.yaml:1: model.hidden must list at least one layer width"));
  CHECK(absl::StartsWith(
      ParseError(Replace(kMinimal, "learning_rate: 0.1", "learning_rate: -1")),
      "job.yaml:9: optimizer.learning_rate must be a positive number"));
  CHECK(absl::StartsWith(
      ParseError(std::string(kMinimal) + "cluster:\n  servers: 2\n"
                 "  replication: 3\n"),
      "job.yaml:14: cluster.replication must be between 1 and "
      "cluster.servers (2), got 3"));
  CHECK(absl::StartsWith(
      ParseError(std::string(kMinimal) + "cluster:\n  device: gpu\n"),
      "job.yaml:13: cluster.device must be \"auto\", \"cpu\" or \"cuda:N\""));
  CHECK(absl::StartsWith(
      ParseError(Replace(kMinimal, "optimizer:\n",
                         "optimizer:\n  type: momentum\n  momentum: 1\n")),
      "job.yaml:10: optimizer.momentum must be in [0, 1)"));
  CHECK(absl::StartsWith(
      ParseError(std::string(kMinimal) + "checkpoint:\n  every_clocks: 10\n"),
      "job.yaml:12: checkpoint.dir must name a directory"));
}

TEST_CASE("staleness takes a non-negative integer or async") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      std::string(kMinimal) + "  staleness: async\n", "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->training().staleness() == -1);

  spec = ParseJobYaml(std::string(kMinimal) + "  staleness: 3\n", "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->training().staleness() == 3);

  CHECK(ParseError(std::string(kMinimal) + "  staleness: -2\n") ==
        "job.yaml:12: training.staleness must be a non-negative integer "
        "(0 = BSP, k = SSP(k)) or \"async\", got \"-2\"");
  CHECK(absl::StartsWith(
      ParseError(std::string(kMinimal) + "  staleness: 1.5\n"),
      "job.yaml:12: training.staleness must be a non-negative integer"));
  CHECK(absl::StartsWith(
      ParseError(std::string(kMinimal) + "  staleness: -1\n"),
      "job.yaml:12: training.staleness"));
}

TEST_CASE("ValidateJobSpec names the field of a submitted spec") {
  absl::StatusOr<JobSpec> parsed = ParseJobYaml(kMinimal, "job.yaml");
  REQUIRE(parsed.ok());
  JobSpec spec = *parsed;
  CHECK(ValidateJobSpec(spec).ok());

  spec.mutable_training()->set_staleness(-2);
  absl::Status status = ValidateJobSpec(spec);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StartsWith(status.message(), "training.staleness"));

  spec = *parsed;
  spec.mutable_training()->set_staleness(-1);
  CHECK(ValidateJobSpec(spec).ok());

  spec = *parsed;
  spec.mutable_cluster()->set_device("cuda:1");
  CHECK(ValidateJobSpec(spec).ok());
  spec.mutable_cluster()->set_device("cuda:");
  CHECK(absl::StartsWith(ValidateJobSpec(spec).message(), "cluster.device"));

  spec = *parsed;
  spec.mutable_model()->set_initializer("uniform");
  CHECK(absl::StartsWith(ValidateJobSpec(spec).message(), "model.initializer"));

  spec = *parsed;
  spec.mutable_data()->set_format("csv");
  CHECK(absl::StartsWith(ValidateJobSpec(spec).message(), "data.format"));

  spec = *parsed;
  spec.mutable_training()->set_stall_timeout_seconds(0);
  CHECK(absl::StartsWith(ValidateJobSpec(spec).message(),
                         "training.stall_timeout_seconds"));

  CHECK(absl::StartsWith(ValidateJobSpec(JobSpec()).message(), "model.type"));
}

TEST_CASE("ParseJobFile reports a missing file as NOT_FOUND") {
  const std::string path = TempDir() + "/no-such-job.yaml";
  absl::StatusOr<JobSpec> spec = ParseJobFile(path);
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(spec.status().message(), path));
}

TEST_CASE("ParseJobFile names the file in parse errors") {
  const std::string path = TempDir() + "/broken.yaml";
  {
    std::ofstream out(path);
    out << Replace(kMinimal, "batch_size: 32", "batch_size: abc");
  }
  absl::StatusOr<JobSpec> spec = ParseJobFile(path);
  REQUIRE_FALSE(spec.ok());
  CHECK(absl::StartsWith(spec.status().message(),
                         path + ":11: training.batch_size"));
}

TEST_CASE("CheckDataFiles names each missing file") {
  const std::string dir = TempDir() + "/data";
  std::filesystem::create_directories(dir);
  for (const char* name :
       {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}) {
    std::ofstream(dir + "/" + name) << "x";
  }
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      Replace(kMinimal, "path: /tmp/data", "path: " + dir), "job.yaml");
  REQUIRE(spec.ok());
  absl::Status status = CheckDataFiles(*spec);
  INFO(status.ToString());
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(status.message(),
                          dir + "/t10k-images-idx3-ubyte.gz"));
  CHECK(absl::StrContains(status.message(),
                          dir + "/t10k-labels-idx1-ubyte.gz"));
  CHECK_FALSE(absl::StrContains(status.message(), "train-images"));
  CHECK_FALSE(absl::StrContains(status.message(), "dataset-fashion-mnist"));

  std::ofstream(dir + "/t10k-images-idx3-ubyte.gz") << "x";
  std::ofstream(dir + "/t10k-labels-idx1-ubyte.gz") << "x";
  CHECK(CheckDataFiles(*spec).ok());
}

TEST_CASE("CheckDataFiles points at the Debian package for the dataset dir") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      Replace(kMinimal, "path: /tmp/data",
              "path: /usr/share/datasets/fashion-mnist"),
      "job.yaml");
  REQUIRE(spec.ok());
  spec->mutable_data()->set_test_labels("no-such-file.gz");
  absl::Status status = CheckDataFiles(*spec);
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(
      status.message(), "/usr/share/datasets/fashion-mnist/no-such-file.gz"));
  CHECK(absl::StrContains(
      status.message(),
      "install Debian's package dataset-fashion-mnist (tools/setup does)"));
}

TEST_CASE("ApplyClusterOverrides changes only positive values") {
  JobSpec spec;
  spec.mutable_cluster()->set_servers(2);
  spec.mutable_cluster()->set_workers(2);
  ApplyClusterOverrides(&spec, 0, -1);
  CHECK(spec.cluster().servers() == 2);
  CHECK(spec.cluster().workers() == 2);
  ApplyClusterOverrides(&spec, 3, 4);
  CHECK(spec.cluster().servers() == 3);
  CHECK(spec.cluster().workers() == 4);
}

// kMinimal with its optimizer block (lines 8-9) replaced by `block`, which
// starts at line 8 with "optimizer:".
}  // namespace
}  // namespace petrel

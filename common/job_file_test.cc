#define CATCH_CONFIG_MAIN
#include "common/job_file.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "catch2/catch.hpp"
#include "common/model_tables.h"

namespace petrel {
namespace {

// A small valid job; tests below break one line of it at a time.
// Line numbers:      1         2       3          4             5
constexpr char kMinimal[] =
    "model:\n"                  // 1
    "  type: mlp\n"             // 2
    "  hidden: [32, 16]\n"      // 3
    "  input_dim: 784\n"        // 4
    "  num_classes: 10\n"       // 5
    "data:\n"                   // 6
    "  path: /tmp/data\n"       // 7
    "optimizer:\n"              // 8
    "  learning_rate: 0.1\n"    // 9
    "training:\n"               // 10
    "  batch_size: 32\n";       // 11

std::string Replace(std::string text, const std::string& from,
                    const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

// The error message of parsing `yaml` as "job.yaml", which must fail with
// INVALID_ARGUMENT.
std::string ParseError(const std::string& yaml) {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(yaml, "job.yaml");
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(spec.status().message());
}

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : std::filesystem::temp_directory_path().string();
}

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
std::string WithOptimizer(const std::string& block) {
  return Replace(kMinimal, "optimizer:\n  learning_rate: 0.1\n", block);
}

TEST_CASE("optimizer defaults depend on the optimizer type") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(kMinimal, "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().beta1() == 0);
  CHECK(spec->optimizer().epsilon() == 0);
  CHECK(spec->optimizer().initial_accumulator_value() == 0);
  CHECK(spec->optimizer().beta() == 0);
  CHECK(spec->optimizer().per_table().empty());

  spec = ParseJobYaml(
      WithOptimizer("optimizer:\n  type: adam\n  learning_rate: 0.001\n"),
      "job.yaml");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().type() == "adam");
  CHECK(spec->optimizer().beta1() == 0.9f);
  CHECK(spec->optimizer().beta2() == 0.999f);
  CHECK(spec->optimizer().epsilon() == 1e-8f);
  CHECK(spec->optimizer().momentum() == 0);

  spec = ParseJobYaml(
      WithOptimizer("optimizer:\n  type: adagrad\n  learning_rate: 0.1\n"),
      "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().initial_accumulator_value() == 0.1f);
  CHECK(spec->optimizer().epsilon() == 1e-10f);

  spec = ParseJobYaml(
      WithOptimizer("optimizer:\n  type: ftrl\n  learning_rate: 0.1\n"),
      "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().beta() == 1.0f);
  CHECK(spec->optimizer().l1() == 0);
  CHECK(spec->optimizer().l2() == 0);
}

TEST_CASE("optimizer fields given in the file are kept") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      WithOptimizer("optimizer:\n  type: adam\n  learning_rate: 0.001\n"
                    "  beta1: 0.8\n  beta2: 0.99\n  epsilon: 1e-6\n"
                    "  weight_decay: 0.01\n"),
      "job.yaml");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().beta1() == 0.8f);
  CHECK(spec->optimizer().beta2() == 0.99f);
  CHECK(spec->optimizer().epsilon() == 1e-6f);
  CHECK(spec->optimizer().weight_decay() == 0.01f);

  spec = ParseJobYaml(
      WithOptimizer("optimizer:\n  type: ftrl\n  learning_rate: 0.1\n"
                    "  l1: 0.01\n  l2: 0.5\n  beta: 0\n"),
      "job.yaml");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().l1() == 0.01f);
  CHECK(spec->optimizer().l2() == 0.5f);
  CHECK(spec->optimizer().beta() == 0);  // given, so not the default 1

  spec = ParseJobYaml(
      WithOptimizer("optimizer:\n  type: adagrad\n  learning_rate: 0.1\n"
                    "  initial_accumulator_value: 0\n  epsilon: 1e-7\n"),
      "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().initial_accumulator_value() == 0);
  CHECK(spec->optimizer().epsilon() == 1e-7f);
}

TEST_CASE("bad optimizer values name the field and its line") {
  // Lines: 8 optimizer:, 9 type, 10 learning_rate, 11 the field under test.
  auto error = [](const std::string& type, const std::string& field) {
    return ParseError(WithOptimizer("optimizer:\n  type: " + type +
                                    "\n  learning_rate: 0.1\n  " + field +
                                    "\n"));
  };
  CHECK(error("adam", "beta2: abc") ==
        "job.yaml:11: optimizer.beta2 must be a number in [0, 1), e.g. "
        "0.999, got \"abc\"");
  CHECK(error("adam", "beta1: 1") ==
        "job.yaml:11: optimizer.beta1 must be in [0, 1), e.g. 0.9, got 1");
  CHECK(absl::StartsWith(error("adam", "beta2: -0.5"),
                         "job.yaml:11: optimizer.beta2 must be in [0, 1)"));
  CHECK(error("adam", "epsilon: 0") ==
        "job.yaml:11: optimizer.epsilon must be a positive number, e.g. "
        "1e-8, got 0");
  CHECK(absl::StartsWith(error("adagrad", "epsilon: nan"),
                         "job.yaml:11: optimizer.epsilon must be a positive"));
  CHECK(absl::StartsWith(
      error("adagrad", "initial_accumulator_value: -0.1"),
      "job.yaml:11: optimizer.initial_accumulator_value must be a "
      "non-negative number"));
  CHECK(absl::StartsWith(error("ftrl", "l1: -1"),
                         "job.yaml:11: optimizer.l1 must be a non-negative"));
  CHECK(absl::StartsWith(error("ftrl", "l2: inf"),
                         "job.yaml:11: optimizer.l2 must be a non-negative"));
  CHECK(absl::StartsWith(error("ftrl", "beta: -1"),
                         "job.yaml:11: optimizer.beta must be a non-negative"));
  CHECK(absl::StartsWith(error("ftrl", "l1: [1]"),
                         "job.yaml:11: optimizer.l1 must be a non-negative "
                         "number, e.g. 0.001, got a list"));
  CHECK(error("ftrl", "weight_decay: 0.1") ==
        "job.yaml:11: optimizer.weight_decay must be 0 for \"ftrl\" (use "
        "optimizer.l2), got 0.1");
  CHECK(absl::StartsWith(error("adam", "beta3: 0.5"),
                         "job.yaml:11: unknown field \"optimizer.beta3\""));
}

TEST_CASE("an unknown optimizer type lists the known ones") {
  const std::string message =
      ParseError(Replace(kMinimal, "optimizer:\n", "optimizer:\n  type: adamw\n"));
  CHECK(message ==
        "job.yaml:9: optimizer.type must be one of \"sgd\", \"momentum\", "
        "\"adagrad\", \"adam\", \"ftrl\", got \"adamw\"; did you mean "
        "\"adam\"?");
}

// kMinimal's model has tables layer0..2/{weights,bias}. Lines: 8 optimizer:,
// 9 type, 10 learning_rate, 11 tables:, 12 first table, ...
std::string WithTables(const std::string& tables) {
  return WithOptimizer("optimizer:\n  type: adam\n  learning_rate: 0.001\n"
                       "  tables:\n" + tables);
}

TEST_CASE("optimizer.tables chooses an optimizer per table") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      WithTables("    layer0/bias:\n      type: sgd\n"
                 "      learning_rate: 0.1\n"
                 "    layer2/weights: {type: ftrl, learning_rate: 0.05, "
                 "l1: 0.001}\n"),
      "job.yaml");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  CHECK(spec->optimizer().per_table_size() == 2);
  const OptimizerSpec& bias = OptimizerFor(*spec, "layer0/bias");
  CHECK(bias.type() == "sgd");
  CHECK(bias.learning_rate() == 0.1f);
  const OptimizerSpec& ftrl = OptimizerFor(*spec, "layer2/weights");
  CHECK(ftrl.type() == "ftrl");
  CHECK(ftrl.l1() == 0.001f);
  CHECK(ftrl.beta() == 1.0f);  // the type's default, filled per entry
  CHECK(ftrl.weight_decay() == 0);
  // Every other table uses the top-level optimizer.
  const OptimizerSpec& other = OptimizerFor(*spec, "layer1/weights");
  CHECK(&other == &spec->optimizer());
  CHECK(other.type() == "adam");
  CHECK(other.beta2() == 0.999f);
  CHECK(ValidateJobSpec(*spec).ok());
}

TEST_CASE("optimizer.tables entries are checked like the top-level block") {
  CHECK(ParseError(WithTables("    layer9/bias: {type: sgd, "
                              "learning_rate: 0.1}\n")) ==
        "job.yaml:12: optimizer.tables names unknown table \"layer9/bias\" "
        "(the model's tables: layer0/weights, layer0/bias, layer1/weights, "
        "layer1/bias, layer2/weights, layer2/bias); did you mean "
        "\"layer0/bias\"?");
  CHECK(absl::StartsWith(
      ParseError(WithTables("    layer0/bias:\n      learning_rate: 0.1\n")),
      "job.yaml:12: missing required field "
      "\"optimizer.tables.layer0/bias.type\" (a table's optimizer inherits "
      "nothing"));
  CHECK(absl::StartsWith(
      ParseError(WithTables("    layer0/bias:\n      type: sgd\n")),
      "job.yaml:12: missing required field "
      "\"optimizer.tables.layer0/bias.learning_rate\""));
  CHECK(ParseError(WithTables("    layer0/bias:\n      type: adam\n"
                              "      learning_rate: 0.1\n"
                              "      beta1: 2\n")) ==
        "job.yaml:15: optimizer.tables.layer0/bias.beta1 must be in [0, 1), "
        "e.g. 0.9, got 2");
  CHECK(absl::StartsWith(
      ParseError(WithTables("    layer0/bias:\n      type: rmsprop\n"
                            "      learning_rate: 0.1\n")),
      "job.yaml:13: optimizer.tables.layer0/bias.type must be one of"));
  CHECK(absl::StartsWith(
      ParseError(WithTables("    layer0/bias:\n      type: sgd\n"
                            "      learning_rate: x\n")),
      "job.yaml:14: optimizer.tables.layer0/bias.learning_rate must be a "
      "positive number, e.g. 0.05, got \"x\""));
  CHECK(absl::StartsWith(
      ParseError(WithTables("    layer0/bias:\n      type: sgd\n"
                            "      learning_rate: 0.1\n"
                            "      tables: {}\n")),
      "job.yaml:15: unknown field \"optimizer.tables.layer0/bias.tables\""));
  CHECK(absl::StartsWith(
      ParseError(WithTables("    layer0/bias: fast\n")),
      "job.yaml:12: optimizer.tables.layer0/bias must be a mapping of "
      "optimizer fields"));
  CHECK(absl::StartsWith(
      ParseError(WithTables("    layer0/bias: {type: sgd, learning_rate: 1}\n"
                            "    layer0/bias: {type: sgd, learning_rate: 2}\n")),
      "job.yaml:13: \"optimizer.tables.layer0/bias\" is given twice (first "
      "on line 12)"));
  CHECK(absl::StartsWith(
      ParseError(WithOptimizer("optimizer:\n  learning_rate: 0.1\n"
                               "  tables: [layer0/bias]\n")),
      "job.yaml:10: optimizer.tables must be a mapping of table name to "
      "optimizer fields"));
}

TEST_CASE("ValidateJobSpec checks optimizer fields and tables of a submitted spec") {
  absl::StatusOr<JobSpec> parsed = ParseJobYaml(kMinimal, "job.yaml");
  REQUIRE(parsed.ok());
  JobSpec spec = *parsed;
  spec.mutable_optimizer()->set_type("adam");  // epsilon left at 0
  CHECK(absl::StartsWith(ValidateJobSpec(spec).message(), "optimizer.epsilon"));
  spec.mutable_optimizer()->set_epsilon(1e-8f);
  spec.mutable_optimizer()->set_beta2(1.0f);
  CHECK(absl::StartsWith(ValidateJobSpec(spec).message(), "optimizer.beta2"));
  spec.mutable_optimizer()->set_beta2(0.999f);
  CHECK(ValidateJobSpec(spec).ok());

  OptimizerSpec entry;
  entry.set_type("sgd");
  entry.set_learning_rate(0.1f);
  (*spec.mutable_optimizer()->mutable_per_table())["output"] = entry;
  CHECK(absl::StartsWith(ValidateJobSpec(spec).message(),
                         "optimizer.tables names unknown table \"output\""));
  spec.mutable_optimizer()->mutable_per_table()->clear();

  const OptimizerSpec inner = entry;
  (*entry.mutable_per_table())["layer0/bias"] = inner;  // nested
  (*spec.mutable_optimizer()->mutable_per_table())["layer0/bias"] = entry;
  CHECK(absl::StartsWith(ValidateJobSpec(spec).message(),
                         "optimizer.tables.layer0/bias.tables is only allowed"));
}

TEST_CASE("OptimizerFor falls back to the top-level optimizer") {
  JobSpec spec;
  spec.mutable_optimizer()->set_type("momentum");
  CHECK(&OptimizerFor(spec, "layer0/weights") == &spec.optimizer());
  OptimizerSpec entry;
  entry.set_type("adagrad");
  (*spec.mutable_optimizer()->mutable_per_table())["layer0/bias"] = entry;
  CHECK(OptimizerFor(spec, "layer0/bias").type() == "adagrad");
  CHECK(OptimizerFor(spec, "layer0/weights").type() == "momentum");
}

// Sparse logistic regression on libsvm data.
// Line numbers:          1         2
constexpr char kSparse[] =
    "model:\n"                          // 1
    "  type: sparse_logistic\n"         // 2
    "  input_dim: 1048576\n"            // 3
    "  num_classes: 2\n"                // 4
    "  max_rows: 100000\n"              // 5
    "data:\n"                           // 6
    "  format: libsvm\n"                // 7
    "  path: /tmp/spam\n"               // 8
    "optimizer:\n"                      // 9
    "  type: adagrad\n"                 // 10
    "  learning_rate: 0.1\n"            // 11
    "training:\n"                       // 12
    "  batch_size: 64\n";               // 13

TEST_CASE("a sparse_logistic job parses with libsvm defaults") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(kSparse, "spam.yaml");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  CHECK(spec->model().type() == "sparse_logistic");
  CHECK(spec->model().input_dim() == 1048576);
  CHECK(spec->model().max_rows() == 100000);
  CHECK(spec->data().format() == "libsvm");
  CHECK(spec->data().train_file() == "train.libsvm");
  CHECK(spec->data().test_file() == "test.libsvm");
  CHECK(spec->data().train_images().empty());
  CHECK(spec->data().train_labels().empty());
  CHECK(spec->data().test_images().empty());
  CHECK(spec->data().test_labels().empty());

  absl::StatusOr<JobSpec> named = ParseJobYaml(
      Replace(kSparse, "  path: /tmp/spam\n",
              "  path: /tmp/spam\n  train_file: a.svm\n  test_file: b.svm\n"),
      "spam.yaml");
  REQUIRE(named.ok());
  CHECK(named->data().train_file() == "a.svm");
  CHECK(named->data().test_file() == "b.svm");
}

TEST_CASE("idx jobs leave the libsvm file names empty") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(kMinimal, "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->data().train_file().empty());
  CHECK(spec->data().test_file().empty());
  CHECK(spec->model().max_rows() == 0);
}

TEST_CASE("sparse_logistic has a dense bias and a sparse weights table") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(kSparse, "spam.yaml");
  REQUIRE(spec.ok());
  const std::vector<DenseTable> dense = ModelTables(spec->model());
  REQUIRE(dense.size() == 1);
  CHECK(dense[0].name() == "bias");
  REQUIRE(dense[0].shape_size() == 1);
  CHECK(dense[0].shape(0) == 1);
  CHECK(dense[0].initializer() == "zeros");
  const std::vector<SparseTable> sparse = ModelSparseTables(spec->model());
  REQUIRE(sparse.size() == 1);
  CHECK(sparse[0].name() == "weights");
  CHECK(sparse[0].dim() == 1);
  CHECK(sparse[0].initializer() == "zeros");
  CHECK(sparse[0].max_rows() == 100000);

  absl::StatusOr<JobSpec> mlp = ParseJobYaml(kMinimal, "job.yaml");
  REQUIRE(mlp.ok());
  CHECK(ModelSparseTables(mlp->model()).empty());
}

TEST_CASE("model and data format mismatches name the field and line") {
  CHECK(ParseError(Replace(kSparse, "format: libsvm", "format: idx")) ==
        "job.yaml:7: data.format must be \"libsvm\" for model.type "
        "\"sparse_logistic\", got \"idx\"");
  CHECK(ParseError(Replace(kSparse, "  format: libsvm\n", "")) ==
        "job.yaml:6: data.format must be \"libsvm\" for model.type "
        "\"sparse_logistic\", got \"idx\"");
  CHECK(ParseError(Replace(kMinimal, "data:\n", "data:\n  format: libsvm\n")) ==
        "job.yaml:7: data.format must be \"idx\" for model.type \"mlp\", "
        "got \"libsvm\"");
  CHECK(absl::StartsWith(
      ParseError(Replace(kSparse, "format: libsvm", "format: csv")),
      "job.yaml:7: data.format must be \"idx\" or \"libsvm\", got \"csv\""));
  CHECK(ParseError(Replace(kSparse, "num_classes: 2", "num_classes: 10")) ==
        "job.yaml:4: model.num_classes must be 2 for model.type "
        "\"sparse_logistic\" (binary labels 0/1), got 10");
  CHECK(absl::StartsWith(
      ParseError(Replace(kSparse, "  num_classes: 2\n",
                         "  num_classes: 2\n  hidden: [8]\n")),
      "job.yaml:5: model.hidden must be empty for model.type "
      "\"sparse_logistic\""));
  CHECK(absl::StartsWith(
      ParseError(Replace(kSparse, "  path: /tmp/spam\n",
                         "  path: /tmp/spam\n  train_images: x.gz\n")),
      "job.yaml:9: data.train_images is not used with data.format "
      "\"libsvm\""));
  CHECK(absl::StartsWith(
      ParseError(Replace(kMinimal, "  path: /tmp/data\n",
                         "  path: /tmp/data\n  test_file: t.libsvm\n")),
      "job.yaml:8: data.test_file is not used with data.format \"idx\""));
  CHECK(absl::StartsWith(
      ParseError(Replace(kSparse, "max_rows: 100000", "max_rows: -1")),
      "job.yaml:5: model.max_rows must be a non-negative integer"));
}

TEST_CASE("optimizer.tables may name sparse tables") {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      Replace(kSparse, "  learning_rate: 0.1\n",
              "  learning_rate: 0.1\n"
              "  tables:\n"
              "    weights: {type: ftrl, learning_rate: 0.05, l1: 0.001}\n"
              "    bias: {type: sgd, learning_rate: 0.01}\n"),
      "job.yaml");
  INFO(spec.status().ToString());
  REQUIRE(spec.ok());
  CHECK(OptimizerFor(*spec, "weights").type() == "ftrl");
  CHECK(OptimizerFor(*spec, "bias").type() == "sgd");

  const std::string error = ParseError(
      Replace(kSparse, "  learning_rate: 0.1\n",
              "  learning_rate: 0.1\n"
              "  tables:\n    weight: {type: sgd, learning_rate: 0.1}\n"));
  CHECK(absl::StartsWith(error, "job.yaml:13: optimizer.tables names unknown "
                                "table \"weight\" (the model's tables: bias, "
                                "weights)"));
  CHECK(absl::StrContains(error, "did you mean \"weights\"?"));
}

TEST_CASE("ValidateJobSpec checks a submitted sparse_logistic spec") {
  absl::StatusOr<JobSpec> parsed = ParseJobYaml(kSparse, "job.yaml");
  REQUIRE(parsed.ok());
  JobSpec spec = *parsed;
  CHECK(ValidateJobSpec(spec).ok());
  spec.mutable_data()->set_format("idx");
  CHECK(ValidateJobSpec(spec).message() ==
        "data.format must be \"libsvm\" for model.type \"sparse_logistic\", "
        "got \"idx\"");
  spec = *parsed;
  spec.mutable_model()->set_max_rows(-5);
  CHECK(absl::StartsWith(ValidateJobSpec(spec).message(), "model.max_rows"));
}

TEST_CASE("CheckDataFiles checks the libsvm files") {
  const std::string dir = TempDir() + "/libsvm";
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/train.libsvm") << "1 3:1\n";
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      Replace(kSparse, "path: /tmp/spam", "path: " + dir), "job.yaml");
  REQUIRE(spec.ok());
  absl::Status status = CheckDataFiles(*spec);
  INFO(status.ToString());
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(status.message(),
                          "\"" + dir + "/test.libsvm\" (data.test_file)"));
  CHECK_FALSE(absl::StrContains(status.message(), "train.libsvm"));
  CHECK_FALSE(absl::StrContains(status.message(), "fetch_spam_corpus"));
  std::ofstream(dir + "/test.libsvm") << "0 4:1\n";
  CHECK(CheckDataFiles(*spec).ok());
}

TEST_CASE("CheckDataFiles points at fetch_spam_corpus for its cache dir") {
  const std::string dir = TempDir() + "/home/.cache/petrel/spam-assassin/libsvm";
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      Replace(kSparse, "path: /tmp/spam", "path: " + dir), "job.yaml");
  REQUIRE(spec.ok());
  absl::Status status = CheckDataFiles(*spec);
  CHECK(status.code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(status.message(), dir + "/train.libsvm"));
  CHECK(absl::StrContains(status.message(), "run tools/fetch_spam_corpus"));
}

}  // namespace
}  // namespace petrel

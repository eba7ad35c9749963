// Job files: optimizers (per type and per table), sparse_logistic jobs and
// gradient compression.
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

TEST_CASE("compression defaults to none, and topk to a ratio of 0.01") {
  using job_file_test::kMinimal;
  absl::StatusOr<JobSpec> plain = ParseJobYaml(kMinimal, "job.yaml");
  REQUIRE(plain.ok());
  CHECK(plain->compression().type() == "none");
  CHECK(plain->compression().topk_ratio() == 0);
  absl::StatusOr<JobSpec> topk =
      ParseJobYaml(std::string(kMinimal) + "compression:\n  type: topk\n", "job.yaml");
  REQUIRE(topk.ok());
  CHECK(topk->compression().topk_ratio() == 0.01);
  absl::StatusOr<JobSpec> bf16 =
      ParseJobYaml(std::string(kMinimal) + "compression: {type: bf16}\n", "job.yaml");
  REQUIRE(bf16.ok());
  CHECK(bf16->compression().type() == "bf16");
}

TEST_CASE("training.allow_tf32 is a boolean, false by default") {
  using job_file_test::kMinimal;
  absl::StatusOr<JobSpec> plain = ParseJobYaml(kMinimal, "job.yaml");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->training().allow_tf32());
  absl::StatusOr<JobSpec> on =
      ParseJobYaml(job_file_test::Replace(kMinimal, "  batch_size: 32\n",
                                          "  batch_size: 32\n  allow_tf32: true\n"),
                   "job.yaml");
  REQUIRE(on.ok());
  CHECK(on->training().allow_tf32());
  const std::string bad = job_file_test::ParseError(job_file_test::Replace(
      kMinimal, "  batch_size: 32\n", "  batch_size: 32\n  allow_tf32: yes please\n"));
  CHECK(absl::StrContains(bad, "job.yaml:12"));
  CHECK(absl::StrContains(bad, "training.allow_tf32 must be true or false"));
}

TEST_CASE("bad compression settings name the field and its line") {
  using job_file_test::kMinimal;
  using job_file_test::ParseError;
  const std::string unknown = ParseError(std::string(kMinimal) + "compression:\n  type: zip\n");
  CHECK(absl::StrContains(unknown, "job.yaml:13"));
  CHECK(absl::StrContains(unknown, "\"bf16\""));
  const std::string ratio =
      ParseError(std::string(kMinimal) + "compression:\n  type: topk\n  topk_ratio: 1.5\n");
  CHECK(absl::StrContains(ratio, "job.yaml:14"));
  CHECK(absl::StrContains(ratio, "(0, 1]"));
  const std::string unused =
      ParseError(std::string(kMinimal) + "compression:\n  type: fp16\n  topk_ratio: 0.1\n");
  CHECK(absl::StrContains(unused, "only used with compression.type \"topk\""));
}

}  // namespace
}  // namespace petrel

// The job file's modes: federated (with dp), ensemble, and data.partition;
// what each fills in, and the bad combinations each refuses.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <string>

#include "common/jobspec/job_file.h"
#include "common/jobspec/job_file_test_util.h"

namespace petrel {
namespace {

using job_file_test::kMinimal;
using job_file_test::ParseError;

std::string Federated(const std::string& section, int workers = 4) {
  return std::string(kMinimal) + "mode: federated\nfederated:\n" + section +
         "cluster:\n  workers: " + std::to_string(workers) + "\n";
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("a federated job gets its defaults") {
  auto spec = ParseJobYaml(Federated("  rounds: 30\n"), "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->mode() == "federated");
  CHECK(spec->federated().rounds() == 30);
  CHECK(spec->federated().local_epochs() == 1);
  CHECK(spec->federated().client_fraction() == 1.0);
  CHECK(spec->federated().round_deadline_seconds() == 60);
  CHECK_FALSE(spec->federated().secure_aggregation());
  CHECK_FALSE(spec->has_dp());
  CHECK(spec->data().partition() == "iid");

  auto plain = ParseJobYaml(kMinimal, "job.yaml");
  REQUIRE(plain.ok());
  CHECK(plain->mode() == "sync");
  CHECK_FALSE(plain->has_federated());
}

TEST_CASE("dp and by_label defaults") {
  auto spec = ParseJobYaml(Federated("  rounds: 3\n") +
                               "dp:\n  clip_norm: 1.0\n  noise_multiplier: 0.8\n",
                           "job.yaml");
  REQUIRE(spec.ok());
  CHECK(spec->dp().delta() == 1e-5);
  auto non_iid = ParseJobYaml(
      job_file_test::Replace(kMinimal, "  path: /tmp/data\n",
                             "  path: /tmp/data\n  partition: by_label\n"),
      "job.yaml");
  REQUIRE(non_iid.ok());
  CHECK(non_iid->data().classes_per_worker() == 2);
}

TEST_CASE("bad federated configurations are refused, naming the field") {
  // E = 0.
  std::string error = ParseError(Federated("  local_epochs: 0\n"));
  CHECK(Contains(error, "job.yaml:14: federated.local_epochs (E) must be at least 1"));
  // Client fraction outside (0, 1].
  for (const char* fraction : {"0", "1.5", "-0.2"}) {
    error = ParseError(Federated(std::string("  client_fraction: ") + fraction + "\n"));
    CHECK(Contains(error, "federated.client_fraction must be in (0, 1]"));
  }
  CHECK(ParseJobYaml(Federated("  client_fraction: 1\n"), "job.yaml").ok());
  // DP without clipping.
  error = ParseError(Federated("  rounds: 3\n") + "dp:\n  noise_multiplier: 1.0\n");
  CHECK(Contains(error, "dp.clip_norm must be a positive number"));
  error = ParseError(Federated("  rounds: 3\n") + "dp:\n  clip_norm: 1.0\n");
  CHECK(Contains(error, "dp.noise_multiplier must be a positive number"));
  // Secure aggregation with fewer than 3 workers.
  error = ParseError(Federated("  secure_aggregation: true\n", /*workers=*/2));
  CHECK(Contains(error, "federated.secure_aggregation needs at least 3 workers"));
  CHECK(ParseJobYaml(Federated("  secure_aggregation: true\n", 3), "job.yaml").ok());
  // Sections of another mode.
  error = ParseError(std::string(kMinimal) + "federated:\n  rounds: 3\n");
  CHECK(Contains(error, "the federated section needs mode \"federated\""));
  error = ParseError(std::string(kMinimal) + "dp:\n  clip_norm: 1\n  noise_multiplier: 1\n");
  CHECK(Contains(error, "dp (differential privacy) is only available with mode \"federated\""));
  error = ParseError(std::string(kMinimal) + "mode: federatd\n");
  CHECK(Contains(error, "mode must be \"sync\", \"federated\" or \"ensemble\""));
  CHECK(Contains(error, "did you mean \"federated\""));
  error = ParseError(Federated("  rounds: 3\n") + "compression:\n  type: fp16\n");
  CHECK(Contains(error, "compression is not available in mode \"federated\""));
}

TEST_CASE("bad ensembles and partitions are refused") {
  std::string error = ParseError(std::string(kMinimal) + "mode: ensemble\nensemble:\n  members: 1\n");
  CHECK(Contains(error, "ensemble.members must be between 2 and 16, got 1"));
  auto three = ParseJobYaml(std::string(kMinimal) + "mode: ensemble\nensemble:\n  members: 3\n",
                            "job.yaml");
  REQUIRE(three.ok());
  CHECK(three->ensemble().members() == 3);
  error = ParseError(job_file_test::Replace(kMinimal, "  path: /tmp/data\n",
                                            "  path: /tmp/data\n  partition: by_class\n"));
  CHECK(Contains(error, "data.partition must be \"iid\" or \"by_label\""));
  error = ParseError(job_file_test::Replace(
      kMinimal, "  path: /tmp/data\n",
      "  path: /tmp/data\n  partition: by_label\n  classes_per_worker: 11\n"));
  CHECK(Contains(error, "data.classes_per_worker must be between 1 and model.num_classes (10)"));
}

TEST_CASE("a submitted spec is checked the same way") {
  auto spec = ParseJobYaml(Federated("  rounds: 3\n"), "job.yaml");
  REQUIRE(spec.ok());
  JobSpec bad = *spec;
  bad.mutable_federated()->set_local_epochs(0);
  absl::Status status = ValidateJobSpec(bad);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK(Contains(std::string(status.message()), "federated.local_epochs"));
  bad = *spec;
  bad.mutable_federated()->set_secure_aggregation(true);
  bad.mutable_cluster()->set_workers(2);
  CHECK_FALSE(ValidateJobSpec(bad).ok());
}

TEST_CASE("ensemble members share the per-table optimizer of their model table") {
  auto spec = ParseJobYaml(std::string(kMinimal) +
                               "mode: ensemble\nensemble:\n  members: 2\n",
                           "job.yaml");
  REQUIRE(spec.ok());
  OptimizerSpec bias;
  bias.set_type("adam");
  bias.set_learning_rate(0.01f);
  (*spec->mutable_optimizer()->mutable_per_table())["layer0/bias"] = bias;
  CHECK(OptimizerFor(*spec, "member1/layer0/bias").type() == "adam");
  CHECK(OptimizerFor(*spec, "member1/layer0/weights").type() == "sgd");
}

}  // namespace
}  // namespace petrel

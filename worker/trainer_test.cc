// The Trainer on a FakePsClient and a FakeCoordinatorClient: a softmax over
// 8 tiny examples, 2 per step, so one epoch is 4 clocks. It pulls and pushes
// once per clock, leaves the clock set at the end, reports progress and the
// final evaluation, and stops at the parameter servers' first error, which
// it reports as the job's failure.
#define CATCH_CONFIG_MAIN
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "client/fake_coordinator_client.h"
#include "common/jobspec/job_file.h"
#include "common/jobspec/model_tables.h"
#include "kernels/cpu/cpu_backend.h"
#include "client/fake_ps_client.h"
#include "worker/trainer.h"

namespace petrel::worker {
namespace {

using Kind = FakePsClient::Kind;

// Writes an IDX file of unsigned bytes: magic 0x000008NN, big-endian sizes,
// then the data.
void WriteIdx(const std::string& path, const std::vector<uint32_t>& dims,
              const std::vector<uint8_t>& data) {
  std::string bytes = {0, 0, 0x08, static_cast<char>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(d >> shift));
  }
  bytes.append(data.begin(), data.end());
  std::ofstream(path, std::ios::binary) << bytes;
}

// 8 examples of 2 x 2 pixels, two classes, as IDX files in the test's
// directory; the same files serve as the test set.
std::string WriteData() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::vector<uint8_t> pixels = {
      255, 0, 0, 0,  0, 0, 0, 255,  250, 10, 0, 0,  0, 0, 10, 250,
      240, 0, 20, 0, 0, 20, 0, 240, 255, 5, 5, 0,   0, 5, 5, 255};
  WriteIdx(dir + "/images.idx", {8, 2, 2}, pixels);
  WriteIdx(dir + "/labels.idx", {8}, {0, 1, 0, 1, 0, 1, 0, 1});
  return dir;
}

JobAssignment Assignment() {
  const std::string dir = WriteData();
  absl::StatusOr<JobSpec> spec = ParseJobYaml(
      "model:\n  type: softmax\n  input_dim: 4\n  num_classes: 2\n"
      "data:\n  path: " + dir + "\n  train_images: images.idx\n  train_labels: labels.idx\n"
      "  test_images: images.idx\n  test_labels: labels.idx\n"
      "optimizer:\n  learning_rate: 0.5\n"
      "training:\n  batch_size: 2\n  epochs: 1\n  eval_every_steps: 1000\n"
      "cluster:\n  servers: 1\n  workers: 1\n",
      "job.yaml");
  REQUIRE(spec.ok());
  JobAssignment assignment;
  assignment.set_job_id("job-1");
  *assignment.mutable_spec() = *spec;
  assignment.set_state(RUNNING);
  assignment.set_rank(0);
  assignment.set_num_workers(1);
  assignment.add_worker_ids("worker-0");
  return assignment;
}

// The job's dense tables, all zeros.
std::vector<std::vector<float>> ZeroTables(const JobSpec& spec) {
  std::vector<std::vector<float>> tables;
  for (const DenseTable& table : JobTables(spec)) tables.emplace_back(TableSize(table), 0.0f);
  return tables;
}

struct Fixture {
  JobAssignment assignment = Assignment();
  FakePsClient ps{ZeroTables(assignment.spec()), /*learning_rate=*/0.5f};
  FakeCoordinatorClient coordinator;
  kernels::CpuBackend backend;

  absl::Status Run() {
    TrainerContext context;
    context.assignment = assignment;
    context.worker_id = "worker-0";
    context.backend = &backend;
    context.ps = &ps;
    context.coordinator = &coordinator;
    return Trainer(std::move(context)).Run();
  }
};

TEST_CASE("the trainer pulls and pushes once per clock and reports the final evaluation") {
  Fixture f;
  REQUIRE(f.Run().ok());
  CHECK(f.ps.Clocks(Kind::kPush) == std::vector<int64_t>{0, 1, 2, 3});
  // Clock 0's pull, then each push's pull of the next clock (a push-pull),
  // and the final evaluation's pull after leaving.
  CHECK(f.ps.Clocks(Kind::kPull) == std::vector<int64_t>{0, 1, 2, 3, 4, 4});
  CHECK(f.ps.Clocks(Kind::kLeave) == std::vector<int64_t>{4});
  // The gradients were applied: the parameters moved off zero.
  bool moved = false;
  for (const std::vector<float>& table : f.ps.tables()) {
    for (float value : table) moved = moved || value != 0.0f;
  }
  CHECK(moved);

  const std::vector<ReportProgressRequest> reports = f.coordinator.progress_reports();
  REQUIRE(reports.size() >= 2);
  const ReportProgressRequest& last = reports.back();
  CHECK(last.job_id() == "job-1");
  CHECK(last.worker_id() == "worker-0");
  CHECK(last.final());
  CHECK(last.finished_training());
  CHECK(last.clock() == 4);
  CHECK(last.steps_per_epoch() == 4);
  CHECK(last.has_test_accuracy());
  CHECK(last.test_accuracy() >= 0.0);
  CHECK(last.test_accuracy() <= 1.0);
  CHECK(last.error().empty());
}

TEST_CASE("the trainer stops at the parameter servers' error and reports it") {
  Fixture f;
  // Clock 0's pull and push-pull go through; the push of clock 1 fails.
  f.ps.FailNextCalls(1, absl::InternalError("server-0 broke"), /*after=*/3);
  const absl::Status status = f.Run();
  CHECK(absl::IsInternal(status));
  CHECK(absl::StrContains(status.message(), "server-0 broke"));
  CHECK(f.ps.Clocks(Kind::kPush) == std::vector<int64_t>{0});
  const std::vector<FakePsClient::Call> calls = f.ps.calls();
  REQUIRE(calls.size() == 4);  // nothing after the failure
  CHECK(calls.back().kind == Kind::kPush);
  CHECK(calls.back().clock == 1);
  CHECK_FALSE(calls.back().ok);

  const std::vector<ReportProgressRequest> reports = f.coordinator.progress_reports();
  REQUIRE_FALSE(reports.empty());
  CHECK(absl::StrContains(reports.back().error(), "server-0 broke"));
  CHECK_FALSE(reports.back().finished_training());
}

TEST_CASE("a job the coordinator no longer runs stops the trainer without a failure report") {
  Fixture f;
  f.coordinator.SetJobState(CANCELLED);
  // The first progress report comes with the evaluation at the end of
  // training; rank 0 then finds the job CANCELLED.
  const absl::Status status = f.Run();
  CHECK(absl::IsCancelled(status));
  for (const ReportProgressRequest& report : f.coordinator.progress_reports()) {
    CHECK(report.error().empty());
  }
}

}  // namespace
}  // namespace petrel::worker

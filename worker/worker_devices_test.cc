// What a worker offers for each --device, and which device each job's
// cluster.device gets here, on fake GPUs (the factory names its backends
// "cuda:N") so that the GPU rows run on a machine without one.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "kernels/cpu/cpu_backend.h"
#include "worker/worker_devices.h"

namespace petrel::worker {
namespace {

// A CPU backend that calls itself `name`.
class NamedBackend : public kernels::CpuBackend {
 public:
  explicit NamedBackend(std::string name) : name_(std::move(name)) {}
  std::string Description() const override { return name_ + " (fake)"; }

 private:
  std::string name_;
};

// A machine with `gpus` working GPUs; records what it was asked to create.
struct FakeMachine {
  int gpus = 0;
  std::vector<std::string> created;

  WorkerDevices::BackendFactory Factory() {
    return [this](const std::string& device,
                  std::string*) -> absl::StatusOr<std::unique_ptr<kernels::Backend>> {
      created.push_back(device);
      std::string name = device;
      if (device == "auto") name = gpus > 0 ? "cuda:0" : "cpu";
      if (absl::StartsWith(name, "cuda:") && std::stoi(name.substr(5)) >= gpus) {
        return absl::FailedPreconditionError(absl::StrCat(device, " requested but there is no usable GPU"));
      }
      return std::unique_ptr<kernels::Backend>(std::make_unique<NamedBackend>(name));
    };
  }
  WorkerDevices::GpuCounter Counter() {
    return [this] { return gpus; };
  }
  absl::StatusOr<std::unique_ptr<WorkerDevices>> Start(const std::string& flag) {
    return WorkerDevices::Create(flag, nullptr, Factory(), Counter());
  }
};

using Devices = std::vector<std::string>;

TEST_CASE("--device auto offers the CPU and every GPU; without a GPU, the CPU only") {
  FakeMachine two{2};
  auto devices = two.Start("auto");
  REQUIRE(devices.ok());
  CHECK((*devices)->offered() == Devices{"cpu", "cuda:0", "cuda:1"});
  CHECK((*devices)->default_backend().Description() == "cuda:0 (fake)");

  FakeMachine none{0};
  auto cpu_only = none.Start("auto");
  REQUIRE(cpu_only.ok());
  CHECK((*cpu_only)->offered() == Devices{"cpu"});
}

TEST_CASE("--device cpu and --device cuda:N offer that device alone") {
  FakeMachine two{2};
  auto cpu = two.Start("cpu");
  REQUIRE(cpu.ok());
  CHECK((*cpu)->offered() == Devices{"cpu"});
  auto gpu1 = two.Start("cuda:1");
  REQUIRE(gpu1.ok());
  CHECK((*gpu1)->offered() == Devices{"cuda:1"});
  // As before: a worker asked for a GPU it does not have does not start.
  auto missing = two.Start("cuda:2");
  CHECK(missing.status().code() == absl::StatusCode::kFailedPrecondition);
}

TEST_CASE("a job's auto keeps its meaning: the worker's GPU when it offers one, else the CPU") {
  FakeMachine two{2};
  auto automatic = two.Start("auto");
  REQUIRE(automatic.ok());
  CHECK(*(*automatic)->Resolve("auto") == "cuda:0");
  CHECK(*(*automatic)->Resolve("") == "cuda:0");
  auto gpu1 = two.Start("cuda:1");
  REQUIRE(gpu1.ok());
  CHECK(*(*gpu1)->Resolve("auto") == "cuda:1");
  auto cpu = two.Start("cpu");
  REQUIRE(cpu.ok());
  CHECK(*(*cpu)->Resolve("auto") == "cpu");
}

TEST_CASE("a job's cpu or cuda:N gets exactly that backend, made once") {
  FakeMachine two{2};
  auto devices = two.Start("auto");
  REQUIRE(devices.ok());
  auto cpu = (*devices)->BackendFor("cpu");
  REQUIRE(cpu.ok());
  CHECK((*cpu)->Description() == "cpu (fake)");
  auto gpu1 = (*devices)->BackendFor("cuda:1");
  REQUIRE(gpu1.ok());
  CHECK((*gpu1)->Description() == "cuda:1 (fake)");
  auto gpu0 = (*devices)->BackendFor("cuda:0");
  REQUIRE(gpu0.ok());
  CHECK(*gpu0 == &(*devices)->default_backend());
  auto again = (*devices)->BackendFor("cpu");
  REQUIRE(again.ok());
  CHECK(*again == *cpu);
  CHECK(two.created == Devices{"auto", "cpu", "cuda:1"});
}

TEST_CASE("a job asking for a device the worker does not offer is refused, naming both") {
  FakeMachine none{0};
  auto devices = none.Start("cpu");
  REQUIRE(devices.ok());
  for (const std::string wanted : {"cuda:0", "cuda:3"}) {
    auto backend = (*devices)->BackendFor(wanted);
    INFO(backend.status().ToString());
    CHECK(backend.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK(absl::StrContains(backend.status().message(),
                            absl::StrCat("cluster.device is \"", wanted, "\"")));
    CHECK(absl::StrContains(backend.status().message(), "offers only cpu"));
    CHECK(absl::StrContains(backend.status().message(), "--device cpu"));
  }
  // Nothing was created for the refused jobs.
  CHECK(none.created == Devices{"cpu"});

  FakeMachine two{2};
  auto gpu1 = two.Start("cuda:1");
  REQUIRE(gpu1.ok());
  CHECK((*gpu1)->BackendFor("cpu").status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK((*gpu1)->BackendFor("cuda:0").status().code() == absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace petrel::worker

// Backend selection on the machine the test runs on. CI and the development
// machines have no GPU (with or without nvcc), so "auto" must fall back to the
// CPU with a reason and "cuda:N" must fail clearly. On a GPU machine the CUDA
// expectations are checked instead.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <string>

#include "absl/strings/match.h"
#include "kernels/backend.h"

namespace petrel::kernels {
namespace {

TEST_CASE("auto picks a GPU when usable and otherwise the CPU, saying why") {
  std::string why;
  auto backend = CreateBackend("auto", &why);
  REQUIRE(backend.ok());
  const std::string description = (*backend)->Description();
  INFO("why: " << why << "; description: " << description);
  if (absl::StartsWith(description, "cuda:")) {
    CHECK(absl::StartsWith(why, "auto: using cuda:0"));
    return;
  }
  CHECK(absl::StartsWith(description, "cpu"));
  CHECK((absl::StartsWith(why, "no CUDA device") || absl::StartsWith(why, "built without CUDA")));
  CHECK(absl::EndsWith(why, "; using the CPU"));
}

TEST_CASE("cuda:N without a usable GPU fails at once and says why") {
  std::string why;
  auto automatic = CreateBackend("auto", &why);
  REQUIRE(automatic.ok());
  if (absl::StartsWith((*automatic)->Description(), "cuda:")) {
    CHECK(CreateBackend("cuda:0").ok());
    auto missing = CreateBackend("cuda:4096");
    CHECK(missing.status().code() == absl::StatusCode::kFailedPrecondition);
    return;
  }
  auto cuda = CreateBackend("cuda:0");
  REQUIRE_FALSE(cuda.ok());
  const std::string message(cuda.status().message());
  INFO(message);
  CHECK(cuda.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StartsWith(message, "cuda:0 requested but"));
  CHECK((absl::StrContains(message, "this build has no CUDA support") ||
         absl::StrContains(message, "no usable GPU: no CUDA device")));
  std::printf("cuda:0 here: %s\nauto here: %s\n", message.c_str(), why.c_str());
}

TEST_CASE("every backend takes the job's TF32 choice; the CPU stays float32") {
  for (const char* device : {"cpu", "auto"}) {
    INFO(device);
    auto backend = CreateBackend(device);
    REQUIRE(backend.ok());
    CHECK((*backend)->SetAllowTf32(true).ok());
    CHECK((*backend)->SetAllowTf32(false).ok());
  }
}

}  // namespace
}  // namespace petrel::kernels

#include "kernels/backend.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kernels/cpu/cpu_backend.h"

namespace petrel::kernels {

absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const std::string& device,
                                                       std::string* why) {
  auto explain = [why](std::string sentence) {
    if (why != nullptr) *why = std::move(sentence);
  };
  if (device == "cpu") {
    explain("the CPU was requested");
    return std::unique_ptr<Backend>(std::make_unique<CpuBackend>());
  }
  if (device == "auto") {
    // A CUDA backend, when built, will be tried here before falling back.
    explain("no CUDA backend in this build; using the CPU");
    return std::unique_ptr<Backend>(std::make_unique<CpuBackend>());
  }
  int ordinal = -1;
  if (absl::StartsWith(device, "cuda:") &&
      absl::SimpleAtoi(device.substr(5), &ordinal) && ordinal >= 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("device ", device,
                     " requested but this build has no CUDA backend; use \"cpu\" or "
                     "\"auto\", or rebuild with nvcc available"));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown device \"", device, "\": expected \"cpu\", \"auto\" or \"cuda:N\" (N >= 0)"));
}

}  // namespace petrel::kernels

#include "kernels/backend.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "kernels/cpu/cpu_backend.h"

#ifdef PETREL_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

namespace petrel::kernels {
namespace {

#ifdef PETREL_HAVE_CUDA
// The CUDA backend on `ordinal`, or why not (UNAVAILABLE, with the reason).
absl::StatusOr<std::unique_ptr<Backend>> TryCuda(int ordinal) {
  absl::StatusOr<int> count = CudaBackend::DeviceCount();
  if (!count.ok()) {
    return absl::UnavailableError(absl::StrCat("no CUDA device: ", count.status().message()));
  }
  if (*count == 0) return absl::UnavailableError("no CUDA device: none visible");
  if (ordinal >= *count) {
    return absl::UnavailableError(absl::StrCat("no CUDA device ", ordinal, ": only ", *count,
                                               " visible (cuda:0 to cuda:", *count - 1, ")"));
  }
  CudaBackend::Options options;
  options.ordinal = ordinal;
  absl::StatusOr<std::unique_ptr<CudaBackend>> backend = CudaBackend::Create(options);
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<Backend>(std::move(*backend));
}
#endif

}  // namespace

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
#ifdef PETREL_HAVE_CUDA
    absl::StatusOr<std::unique_ptr<Backend>> cuda = TryCuda(0);
    if (cuda.ok()) {
      explain(absl::StrCat("auto: using ", (*cuda)->Description()));
      return cuda;
    }
    explain(absl::StrCat(cuda.status().message(), "; using the CPU"));
#else
    explain("built without CUDA (nvcc was not found at build time); using the CPU");
#endif
    return std::unique_ptr<Backend>(std::make_unique<CpuBackend>());
  }
  int ordinal = -1;
  if (absl::StartsWith(device, "cuda:") &&
      absl::SimpleAtoi(device.substr(5), &ordinal) && ordinal >= 0) {
#ifdef PETREL_HAVE_CUDA
    absl::StatusOr<std::unique_ptr<Backend>> cuda = TryCuda(ordinal);
    if (!cuda.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat(device, " requested but there is no usable GPU: ",
                       cuda.status().message(), "; use \"cpu\" or \"auto\""));
    }
    explain(absl::StrCat(device, " was requested: ", (*cuda)->Description()));
    return cuda;
#else
    return absl::FailedPreconditionError(
        absl::StrCat(device,
                     " requested but this build has no CUDA support; use \"cpu\" or "
                     "\"auto\", or rebuild with nvcc available (docs/gpu.md)"));
#endif
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown device \"", device, "\": expected \"cpu\", \"auto\" or \"cuda:N\" (N >= 0)"));
}

int VisibleCudaDevices() {
#ifdef PETREL_HAVE_CUDA
  absl::StatusOr<int> count = CudaBackend::DeviceCount();
  return count.ok() ? *count : 0;
#else
  return 0;
#endif
}

}  // namespace petrel::kernels

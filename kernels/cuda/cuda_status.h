// Turns a cuda::Result (cuda_api.h) into an absl::Status that names the
// failing CUDA or cuBLAS call. g++ side only.
#ifndef PETREL_KERNELS_CUDA_CUDA_STATUS_H_
#define PETREL_KERNELS_CUDA_CUDA_STATUS_H_

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "kernels/cuda/cuda_api.h"

namespace petrel::kernels::cuda {

inline absl::Status ToStatus(const Result& result) {
  switch (result.kind) {
    case Result::Kind::kOk:
      return absl::OkStatus();
    case Result::Kind::kInvalidArgument:
      return absl::InvalidArgumentError(result.message);
    case Result::Kind::kCudaError:
    case Result::Kind::kCublasError:
      break;
  }
  std::string message = absl::StrCat("cuda: ", result.ToString());
  if (result.out_of_memory) return absl::ResourceExhaustedError(std::move(message));
  return absl::InternalError(std::move(message));
}

}  // namespace petrel::kernels::cuda

// Returns from the enclosing function (absl::Status or StatusOr) when the
// cuda::Result of `expr` is not OK.
#define PETREL_CUDA_RETURN_IF_ERROR(expr)                                    \
  do {                                                                       \
    const ::petrel::kernels::cuda::Result petrel_cuda_result_ = (expr);      \
    if (!petrel_cuda_result_.ok()) {                                         \
      return ::petrel::kernels::cuda::ToStatus(petrel_cuda_result_);         \
    }                                                                        \
  } while (0)

#endif  // PETREL_KERNELS_CUDA_CUDA_STATUS_H_

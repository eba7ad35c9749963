// The reference backend: host memory, OpenBLAS for Gemm and plain loops for
// the rest. Every other backend is tested against this one.
#ifndef PETREL_KERNELS_CPU_CPU_BACKEND_H_
#define PETREL_KERNELS_CPU_CPU_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "kernels/backend.h"

namespace petrel::kernels {

class CpuBackend : public Backend {
 public:
  std::string Description() const override;

  absl::StatusOr<DeviceArray<float>> AllocateFloats(size_t count) override;
  absl::StatusOr<DeviceArray<int32_t>> AllocateInts(size_t count) override;
  absl::Status CopyToDevice(absl::Span<const float> host, float* device) override;
  absl::Status CopyToDevice(absl::Span<const int32_t> host, int32_t* device) override;
  absl::Status CopyToHost(const float* device, absl::Span<float> host) override;

  absl::Status Gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k, float alpha,
                    const float* a, const float* b, float beta, float* c) override;
  absl::Status BiasActivation(int rows, int cols, const float* bias, Activation activation,
                              float* x) override;
  absl::Status ReluBackward(size_t count, const float* activated, float* grad) override;
  absl::Status ColumnSum(int rows, int cols, const float* x, float* out) override;
  absl::StatusOr<LossResult> SoftmaxCrossEntropy(int rows, int cols, const float* logits,
                                                 const int32_t* labels, float* grad) override;
};

}  // namespace petrel::kernels

#endif  // PETREL_KERNELS_CPU_CPU_BACKEND_H_

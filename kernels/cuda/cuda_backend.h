// The CUDA backend: the Backend interface on one GPU, through cuda::Context
// (cuda_api.h), which owns the stream, the cuBLAS handle and the reused
// buffers. Pointers given to the math calls are device memory from
// AllocateFloats/AllocateInts.
#ifndef PETREL_KERNELS_CUDA_CUDA_BACKEND_H_
#define PETREL_KERNELS_CUDA_CUDA_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kernels/backend.h"
#include "kernels/cuda/cuda_api.h"

namespace petrel::kernels {

class CudaBackend : public Backend {
 public:
  struct Options {
    int ordinal = 0;
    // TF32 tensor-core GEMMs (see cuda::Context::Options); off by default.
    bool allow_tf32 = false;
  };

  // Fails with UNAVAILABLE when there is no usable device (no driver, no GPU,
  // no such ordinal), naming the reason.
  static absl::StatusOr<std::unique_ptr<CudaBackend>> Create(const Options& options);

  // cudaGetDeviceCount, or why it failed.
  static absl::StatusOr<int> DeviceCount();

  // Sparse rows for sparse tables; see cuda::Context::Gather/ScatterAdd.
  absl::Status Gather(int count, int cols, const float* table, int table_rows,
                      const int32_t* indices, float* out);
  absl::Status ScatterAdd(int count, int cols, const float* values, const int32_t* indices,
                          int table_rows, float* table);
  absl::Status Synchronize();

  std::string Description() const override;
  absl::Status SetAllowTf32(bool allowed) override;
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

 private:
  explicit CudaBackend(std::shared_ptr<cuda::Context> context)
      : context_(std::move(context)) {}

  template <typename T>
  absl::StatusOr<DeviceArray<T>> Allocate(size_t count);

  // Shared with every DeviceArray this backend hands out, so that an array
  // freed after the backend still has its device and stream.
  std::shared_ptr<cuda::Context> context_;
};

}  // namespace petrel::kernels

#endif  // PETREL_KERNELS_CUDA_CUDA_BACKEND_H_

// Kernel launchers shared by the .cu files; nvcc only (includes CUDA headers).
#ifndef PETREL_KERNELS_CUDA_KERNELS_CUH_
#define PETREL_KERNELS_CUDA_KERNELS_CUH_

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace petrel::kernels::cuda {

// Device scratch for reductions and error flags; zeroed (and `first_bad` set
// to all ones) before each launch that uses it.
struct Scratch {
  double loss;                   // sum of per-row losses
  unsigned long long correct;    // rows whose arg-max is the label
  unsigned long long first_bad;  // (row << 32) | uint32(value) of the first bad label/index
};

// Each launcher enqueues on `stream` and returns cudaGetLastError().
cudaError_t LaunchBiasActivation(cudaStream_t stream, int rows, int cols, const float* bias,
                                 bool relu, float* x);
cudaError_t LaunchReluBackward(cudaStream_t stream, size_t count, const float* activated,
                               float* grad);
cudaError_t LaunchColumnSum(cudaStream_t stream, int rows, int cols, const float* x, float* out);
cudaError_t LaunchSoftmaxCrossEntropy(cudaStream_t stream, int rows, int cols,
                                      const float* logits, const int32_t* labels, float* grad,
                                      Scratch* scratch);
cudaError_t LaunchGather(cudaStream_t stream, int count, int cols, const float* table,
                         int table_rows, const int32_t* indices, float* out, Scratch* scratch);
cudaError_t LaunchScatterAdd(cudaStream_t stream, int count, int cols, const float* values,
                             const int32_t* indices, int table_rows, float* table,
                             Scratch* scratch);

}  // namespace petrel::kernels::cuda

#endif  // PETREL_KERNELS_CUDA_KERNELS_CUH_

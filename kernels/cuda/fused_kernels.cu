// The fused element-wise and reduction kernels of a dense training step.
// Each matches the CPU backend's arithmetic (kernels/cpu/cpu_backend.cc)
// closely enough for the parity tests: the softmax works in double like the
// CPU does, and ColumnSum accumulates in double.
#include <cfloat>
#include <climits>
#include <cmath>

#include "kernels/cuda/kernels.cuh"

namespace petrel::kernels::cuda {
namespace {

constexpr int kThreads = 256;

// Enough blocks to fill the device; grid-stride loops do the rest.
int Blocks(size_t count) {
  const size_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 8192 ? (blocks == 0 ? 1 : blocks) : 8192);
}

__global__ void BiasActivationKernel(size_t count, int cols, const float* __restrict__ bias,
                                     bool relu, float* __restrict__ x) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count;
       i += size_t{gridDim.x} * blockDim.x) {
    const float v = x[i] + bias[i % cols];
    // As std::max(v, 0.0f): NaN stays NaN.
    x[i] = (relu && v < 0.0f) ? 0.0f : v;
  }
}

__global__ void ReluBackwardKernel(size_t count, const float* __restrict__ activated,
                                   float* __restrict__ grad) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count;
       i += size_t{gridDim.x} * blockDim.x) {
    if (!(activated[i] > 0.0f)) grad[i] = 0.0f;
  }
}

// Block (32, 32): threadIdx.x picks the column, threadIdx.y strides the rows;
// the 32 partial sums per column are then added in shared memory.
__global__ void ColumnSumKernel(int rows, int cols, const float* __restrict__ x,
                                float* __restrict__ out) {
  __shared__ double partial[32][33];
  const int col = blockIdx.x * 32 + threadIdx.x;
  double sum = 0;
  if (col < cols) {
    for (int r = threadIdx.y; r < rows; r += 32) sum += x[static_cast<size_t>(r) * cols + col];
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y == 0 && col < cols) {
    double total = 0;
    for (int i = 0; i < 32; ++i) total += partial[i][threadIdx.x];
    out[col] = static_cast<float>(total);
  }
}

__device__ void RecordBad(Scratch* scratch, int row, int value) {
  const unsigned long long packed =
      (static_cast<unsigned long long>(row) << 32) | static_cast<unsigned int>(value);
  atomicMin(&scratch->first_bad, packed);
}

// One warp per row: arg-max (first index on ties, like the CPU), the sum of
// exponentials, the row's loss, and the gradient, reading the logits twice.
__global__ void SoftmaxCrossEntropyKernel(int rows, int cols, const float* __restrict__ logits,
                                          const int32_t* __restrict__ labels,
                                          float* __restrict__ grad, float scale,
                                          Scratch* scratch) {
  const int row = (blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= rows) return;  // whole warps leave together
  const float* x = logits + static_cast<size_t>(row) * cols;

  float best = -INFINITY;
  int best_j = INT_MAX;
  for (int j = lane; j < cols; j += 32) {
    const float v = x[j];
    if (best_j == INT_MAX || v > best) {  // j grows, so ties keep the first
      best = v;
      best_j = j;
    }
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(0xffffffff, best, offset);
    const int other_j = __shfl_xor_sync(0xffffffff, best_j, offset);
    if (other_j != INT_MAX &&
        (best_j == INT_MAX || other > best || (other == best && other_j < best_j))) {
      best = other;
      best_j = other_j;
    }
  }
  const float max = best;

  double sum = 0;
  for (int j = lane; j < cols; j += 32) sum += exp(static_cast<double>(x[j] - max));
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffff, sum, offset);

  const int label = labels[row];
  if (label < 0 || label >= cols) {
    if (lane == 0) RecordBad(scratch, row, label);
    return;
  }
  if (lane == 0) {
    atomicAdd(&scratch->loss, log(sum) - static_cast<double>(x[label] - max));
    if (best_j == label) atomicAdd(&scratch->correct, 1ULL);
  }
  if (grad != nullptr) {
    float* g = grad + static_cast<size_t>(row) * cols;
    const double inv_sum = 1.0 / sum;
    for (int j = lane; j < cols; j += 32) {
      float value = static_cast<float>(exp(static_cast<double>(x[j] - max)) * inv_sum) * scale;
      if (j == label) value -= scale;
      g[j] = value;
    }
  }
}

}  // namespace

cudaError_t LaunchBiasActivation(cudaStream_t stream, int rows, int cols, const float* bias,
                                 bool relu, float* x) {
  const size_t count = static_cast<size_t>(rows) * cols;
  BiasActivationKernel<<<Blocks(count), kThreads, 0, stream>>>(count, cols, bias, relu, x);
  return cudaGetLastError();
}

cudaError_t LaunchReluBackward(cudaStream_t stream, size_t count, const float* activated,
                               float* grad) {
  ReluBackwardKernel<<<Blocks(count), kThreads, 0, stream>>>(count, activated, grad);
  return cudaGetLastError();
}

cudaError_t LaunchColumnSum(cudaStream_t stream, int rows, int cols, const float* x, float* out) {
  const dim3 block(32, 32);
  ColumnSumKernel<<<(cols + 31) / 32, block, 0, stream>>>(rows, cols, x, out);
  return cudaGetLastError();
}

cudaError_t LaunchSoftmaxCrossEntropy(cudaStream_t stream, int rows, int cols,
                                      const float* logits, const int32_t* labels, float* grad,
                                      Scratch* scratch) {
  const int warps_per_block = kThreads / 32;
  const int blocks = (rows + warps_per_block - 1) / warps_per_block;
  SoftmaxCrossEntropyKernel<<<blocks, kThreads, 0, stream>>>(rows, cols, logits, labels, grad,
                                                             1.0f / rows, scratch);
  return cudaGetLastError();
}

}  // namespace petrel::kernels::cuda

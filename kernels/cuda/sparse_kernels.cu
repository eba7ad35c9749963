// Sparse row gather and scatter-add, for sparse (embedding) tables.
#include "kernels/cuda/kernels.cuh"

namespace petrel::kernels::cuda {
namespace {

constexpr int kThreads = 256;

int Blocks(size_t count) {
  const size_t blocks = (count + kThreads - 1) / kThreads;
  return static_cast<int>(blocks < 8192 ? (blocks == 0 ? 1 : blocks) : 8192);
}

__device__ void RecordBadIndex(Scratch* scratch, int row, int value) {
  const unsigned long long packed =
      (static_cast<unsigned long long>(row) << 32) | static_cast<unsigned int>(value);
  atomicMin(&scratch->first_bad, packed);
}

__global__ void GatherKernel(int count, int cols, const float* __restrict__ table,
                             int table_rows, const int32_t* __restrict__ indices,
                             float* __restrict__ out, Scratch* scratch) {
  const size_t total = static_cast<size_t>(count) * cols;
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < total;
       i += size_t{gridDim.x} * blockDim.x) {
    const int row = static_cast<int>(i / cols);
    const int col = static_cast<int>(i % cols);
    const int index = indices[row];
    if (index < 0 || index >= table_rows) {
      if (col == 0) RecordBadIndex(scratch, row, index);
      continue;
    }
    out[i] = table[static_cast<size_t>(index) * cols + col];
  }
}

__global__ void ScatterAddKernel(int count, int cols, const float* __restrict__ values,
                                 const int32_t* __restrict__ indices, int table_rows,
                                 float* __restrict__ table, Scratch* scratch) {
  const size_t total = static_cast<size_t>(count) * cols;
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < total;
       i += size_t{gridDim.x} * blockDim.x) {
    const int row = static_cast<int>(i / cols);
    const int col = static_cast<int>(i % cols);
    const int index = indices[row];
    if (index < 0 || index >= table_rows) {
      if (col == 0) RecordBadIndex(scratch, row, index);
      continue;
    }
    atomicAdd(&table[static_cast<size_t>(index) * cols + col], values[i]);
  }
}

}  // namespace

cudaError_t LaunchGather(cudaStream_t stream, int count, int cols, const float* table,
                         int table_rows, const int32_t* indices, float* out, Scratch* scratch) {
  GatherKernel<<<Blocks(static_cast<size_t>(count) * cols), kThreads, 0, stream>>>(
      count, cols, table, table_rows, indices, out, scratch);
  return cudaGetLastError();
}

cudaError_t LaunchScatterAdd(cudaStream_t stream, int count, int cols, const float* values,
                             const int32_t* indices, int table_rows, float* table,
                             Scratch* scratch) {
  ScatterAddKernel<<<Blocks(static_cast<size_t>(count) * cols), kThreads, 0, stream>>>(
      count, cols, values, indices, table_rows, table, scratch);
  return cudaGetLastError();
}

}  // namespace petrel::kernels::cuda

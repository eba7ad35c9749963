// Context: the device, its stream, its cuBLAS handle and the buffers reused
// across steps. Host code only, but compiled by nvcc so that no CUDA header
// reaches g++ (see cuda_api.h).
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <utility>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/kernels.cuh"

namespace petrel::kernels::cuda {
namespace {

Result CudaFailure(cudaError_t error, const char* call) {
  Result result;
  result.kind = Result::Kind::kCudaError;
  result.code = static_cast<int>(error);
  result.call = call;
  result.message = std::string(cudaGetErrorString(error)) + " (" + cudaGetErrorName(error) + ")";
  result.out_of_memory = error == cudaErrorMemoryAllocation;
  return result;
}

Result CublasFailure(cublasStatus_t status, const char* call) {
  Result result;
  result.kind = Result::Kind::kCublasError;
  result.code = static_cast<int>(status);
  result.call = call;
  result.message = std::string(cublasGetStatusString(status)) + " (" +
                   cublasGetStatusName(status) + ")";
  result.out_of_memory = status == CUBLAS_STATUS_ALLOC_FAILED;
  return result;
}

}  // namespace

// Return a Result naming the call when a CUDA or cuBLAS call fails.
#define PETREL_CUDA_CHECK(expr)                                   \
  do {                                                            \
    const cudaError_t petrel_cuda_error_ = (expr);                \
    if (petrel_cuda_error_ != cudaSuccess) {                      \
      return CudaFailure(petrel_cuda_error_, #expr);              \
    }                                                             \
  } while (0)
#define PETREL_CUBLAS_CHECK(expr)                                 \
  do {                                                            \
    const cublasStatus_t petrel_cublas_status_ = (expr);          \
    if (petrel_cublas_status_ != CUBLAS_STATUS_SUCCESS) {         \
      return CublasFailure(petrel_cublas_status_, #expr);         \
    }                                                             \
  } while (0)
#define PETREL_RESULT_CHECK(expr)                 \
  do {                                            \
    Result petrel_result_ = (expr);               \
    if (!petrel_result_.ok()) return petrel_result_; \
  } while (0)

std::string Result::ToString() const {
  switch (kind) {
    case Kind::kOk:
      return "OK";
    case Kind::kInvalidArgument:
      return message;
    case Kind::kCudaError:
    case Kind::kCublasError:
      break;
  }
  return call + " failed: " + message;
}

Result Result::Invalid(std::string what) {
  Result result;
  result.kind = Kind::kInvalidArgument;
  result.message = std::move(what);
  return result;
}

Result DeviceCount(int* count) {
  *count = 0;
  PETREL_CUDA_CHECK(cudaGetDeviceCount(count));
  return Result::Ok();
}

namespace {

cudaStream_t StreamOf(void* stream) { return static_cast<cudaStream_t>(stream); }
Scratch* ScratchOf(void* scratch) { return static_cast<Scratch*>(scratch); }

Result ShapeCheck(const char* op, long long rows, long long cols) {
  if (rows < 0 || cols < 0) {
    return Result::Invalid(std::string(op) + ": negative shape " + std::to_string(rows) + " x " +
                           std::to_string(cols));
  }
  return Result::Ok();
}

}  // namespace

Result Context::Create(const Options& options, std::unique_ptr<Context>* out) {
  std::unique_ptr<Context> context(new Context());
  context->options_ = options;
  DeviceInfo& info = context->info_;
  info.ordinal = options.ordinal;
  int count = 0;
  PETREL_CUDA_CHECK(cudaGetDeviceCount(&count));
  if (options.ordinal < 0 || options.ordinal >= count) {
    return Result::Invalid("cuda:" + std::to_string(options.ordinal) + " does not exist: " +
                           std::to_string(count) + " CUDA device(s) visible");
  }
  PETREL_CUDA_CHECK(cudaSetDevice(options.ordinal));
  cudaDeviceProp prop;
  PETREL_CUDA_CHECK(cudaGetDeviceProperties(&prop, options.ordinal));
  info.name = prop.name;
  info.total_memory = prop.totalGlobalMem;
  info.major = prop.major;
  info.minor = prop.minor;
  info.multiprocessors = prop.multiProcessorCount;
  PETREL_CUDA_CHECK(cudaRuntimeGetVersion(&info.runtime_version));

  cudaStream_t stream = nullptr;
  PETREL_CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  context->stream_ = stream;
  cudaEvent_t event = nullptr;
  PETREL_CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  context->staged_event_ = event;
  cublasHandle_t handle = nullptr;
  PETREL_CUBLAS_CHECK(cublasCreate(&handle));
  context->cublas_ = handle;
  PETREL_CUBLAS_CHECK(cublasSetStream(handle, stream));
  PETREL_CUBLAS_CHECK(cublasSetMathMode(
      handle, options.allow_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  PETREL_CUBLAS_CHECK(cublasGetVersion(handle, &info.cublas_version));
  PETREL_CUDA_CHECK(cudaMalloc(&context->scratch_device_, sizeof(Scratch)));
  PETREL_CUDA_CHECK(cudaMallocHost(&context->scratch_host_, sizeof(Scratch)));
  *out = std::move(context);
  return Result::Ok();
}

Context::~Context() {
  // Errors are ignored: there is no one left to tell.
  cudaSetDevice(options_.ordinal);
  if (stream_ != nullptr) cudaStreamSynchronize(StreamOf(stream_));
  if (cublas_ != nullptr) cublasDestroy(static_cast<cublasHandle_t>(cublas_));
  if (staged_event_ != nullptr) cudaEventDestroy(static_cast<cudaEvent_t>(staged_event_));
  if (staging_ != nullptr) cudaFreeHost(staging_);
  if (scratch_host_ != nullptr) cudaFreeHost(scratch_host_);
  if (scratch_device_ != nullptr) cudaFree(scratch_device_);
  if (stream_ != nullptr) cudaStreamDestroy(StreamOf(stream_));
}

// The current device is per host thread; a worker may call from several.
#define PETREL_ON_DEVICE() PETREL_CUDA_CHECK(cudaSetDevice(options_.ordinal))

Result Context::Allocate(size_t bytes, void** device) {
  *device = nullptr;
  if (bytes == 0) return Result::Ok();
  PETREL_ON_DEVICE();
  PETREL_CUDA_CHECK(cudaMalloc(device, bytes));
  return Result::Ok();
}

Result Context::Free(void* device) {
  if (device == nullptr) return Result::Ok();
  PETREL_ON_DEVICE();
  PETREL_CUDA_CHECK(cudaFree(device));
  return Result::Ok();
}

Result Context::Stage(size_t bytes) {
  // Staging is reused only once the previous copy out of it has finished.
  PETREL_CUDA_CHECK(cudaEventSynchronize(static_cast<cudaEvent_t>(staged_event_)));
  if (bytes <= staging_bytes_) return Result::Ok();
  if (staging_ != nullptr) {
    PETREL_CUDA_CHECK(cudaFreeHost(staging_));
    staging_ = nullptr;
    staging_bytes_ = 0;
  }
  const size_t size = std::max(bytes, size_t{1} << 20);
  PETREL_CUDA_CHECK(cudaMallocHost(&staging_, size));
  staging_bytes_ = size;
  return Result::Ok();
}

Result Context::CopyToDevice(const void* host, void* device, size_t bytes) {
  if (bytes == 0) return Result::Ok();
  if (host == nullptr || device == nullptr) return Result::Invalid("CopyToDevice: null pointer");
  PETREL_ON_DEVICE();
  PETREL_RESULT_CHECK(Stage(bytes));
  std::memcpy(staging_, host, bytes);
  PETREL_CUDA_CHECK(
      cudaMemcpyAsync(device, staging_, bytes, cudaMemcpyHostToDevice, StreamOf(stream_)));
  PETREL_CUDA_CHECK(
      cudaEventRecord(static_cast<cudaEvent_t>(staged_event_), StreamOf(stream_)));
  return Result::Ok();
}

Result Context::CopyToHost(const void* device, void* host, size_t bytes) {
  if (bytes == 0) return Result::Ok();
  if (host == nullptr || device == nullptr) return Result::Invalid("CopyToHost: null pointer");
  PETREL_ON_DEVICE();
  PETREL_RESULT_CHECK(Stage(bytes));
  PETREL_CUDA_CHECK(
      cudaMemcpyAsync(staging_, device, bytes, cudaMemcpyDeviceToHost, StreamOf(stream_)));
  PETREL_CUDA_CHECK(
      cudaEventRecord(static_cast<cudaEvent_t>(staged_event_), StreamOf(stream_)));
  PETREL_CUDA_CHECK(cudaStreamSynchronize(StreamOf(stream_)));
  std::memcpy(host, staging_, bytes);
  return Result::Ok();
}

Result Context::Memset(void* device, int value, size_t bytes) {
  if (bytes == 0) return Result::Ok();
  PETREL_ON_DEVICE();
  PETREL_CUDA_CHECK(cudaMemsetAsync(device, value, bytes, StreamOf(stream_)));
  return Result::Ok();
}

Result Context::Synchronize() {
  PETREL_ON_DEVICE();
  PETREL_CUDA_CHECK(cudaStreamSynchronize(StreamOf(stream_)));
  return Result::Ok();
}

Result Context::SetAllowTf32(bool allowed) {
  PETREL_ON_DEVICE();
  PETREL_CUBLAS_CHECK(cublasSetMathMode(static_cast<cublasHandle_t>(cublas_),
                                        allowed ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  options_.allow_tf32 = allowed;
  return Result::Ok();
}

Result Context::Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha,
                     const float* a, const float* b, float beta, float* c) {
  if (m < 0 || n < 0 || k < 0) {
    return Result::Invalid("Gemm: negative size m=" + std::to_string(m) +
                           " n=" + std::to_string(n) + " k=" + std::to_string(k));
  }
  if (m == 0 || n == 0) return Result::Ok();
  if (a == nullptr || b == nullptr || c == nullptr) return Result::Invalid("Gemm: null matrix");
  PETREL_ON_DEVICE();
  // cuBLAS is column-major: a row-major C is a column-major C^T, and
  // C^T = op(B)^T op(A)^T, so swap the operands and keep the flags.
  const int lda = std::max(1, trans_a ? m : k);
  const int ldb = std::max(1, trans_b ? k : n);
  PETREL_CUBLAS_CHECK(cublasSgemm(static_cast<cublasHandle_t>(cublas_),
                                  trans_b ? CUBLAS_OP_T : CUBLAS_OP_N,
                                  trans_a ? CUBLAS_OP_T : CUBLAS_OP_N, n, m, k, &alpha, b, ldb,
                                  a, lda, &beta, c, n));
  return Result::Ok();
}

Result Context::BiasActivation(int rows, int cols, const float* bias, bool relu, float* x) {
  PETREL_RESULT_CHECK(ShapeCheck("BiasActivation", rows, cols));
  if (rows == 0 || cols == 0) return Result::Ok();
  if (bias == nullptr || x == nullptr) return Result::Invalid("BiasActivation: null pointer");
  PETREL_ON_DEVICE();
  PETREL_CUDA_CHECK(LaunchBiasActivation(StreamOf(stream_), rows, cols, bias, relu, x));
  return Result::Ok();
}

Result Context::ReluBackward(size_t count, const float* activated, float* grad) {
  if (count == 0) return Result::Ok();
  if (activated == nullptr || grad == nullptr) {
    return Result::Invalid("ReluBackward: null pointer");
  }
  PETREL_ON_DEVICE();
  PETREL_CUDA_CHECK(LaunchReluBackward(StreamOf(stream_), count, activated, grad));
  return Result::Ok();
}

Result Context::ColumnSum(int rows, int cols, const float* x, float* out) {
  PETREL_RESULT_CHECK(ShapeCheck("ColumnSum", rows, cols));
  if (cols == 0) return Result::Ok();
  if (out == nullptr || (rows > 0 && x == nullptr)) {
    return Result::Invalid("ColumnSum: null pointer");
  }
  PETREL_ON_DEVICE();
  PETREL_CUDA_CHECK(LaunchColumnSum(StreamOf(stream_), rows, cols, x, out));
  return Result::Ok();
}

Result Context::CheckIndices(const char* op) {
  Scratch* host = ScratchOf(scratch_host_);
  PETREL_CUDA_CHECK(cudaMemcpyAsync(host, scratch_device_, sizeof(Scratch),
                                    cudaMemcpyDeviceToHost, StreamOf(stream_)));
  PETREL_CUDA_CHECK(cudaStreamSynchronize(StreamOf(stream_)));
  if (host->first_bad != ~0ULL) {
    const int row = static_cast<int>(host->first_bad >> 32);
    const int value = static_cast<int>(static_cast<unsigned int>(host->first_bad & 0xffffffffu));
    return Result::Invalid(std::string(op) + ": row " + std::to_string(row) + " has " +
                           (std::string(op) == "SoftmaxCrossEntropy" ? "label " : "index ") +
                           std::to_string(value) + ", out of range");
  }
  return Result::Ok();
}

Result Context::SoftmaxCrossEntropy(int rows, int cols, const float* logits,
                                    const int32_t* labels, float* grad, double* loss,
                                    int64_t* correct) {
  if (rows <= 0 || cols <= 0) {
    return Result::Invalid("SoftmaxCrossEntropy: shape must be positive, got " +
                           std::to_string(rows) + " x " + std::to_string(cols));
  }
  if (logits == nullptr || labels == nullptr) {
    return Result::Invalid("SoftmaxCrossEntropy: null pointer");
  }
  PETREL_ON_DEVICE();
  cudaStream_t stream = StreamOf(stream_);
  Scratch* scratch = ScratchOf(scratch_device_);
  PETREL_CUDA_CHECK(cudaMemsetAsync(scratch, 0, offsetof(Scratch, first_bad), stream));
  PETREL_CUDA_CHECK(cudaMemsetAsync(&scratch->first_bad, 0xff, sizeof(scratch->first_bad), stream));
  PETREL_CUDA_CHECK(
      LaunchSoftmaxCrossEntropy(stream, rows, cols, logits, labels, grad, scratch));
  PETREL_RESULT_CHECK(CheckIndices("SoftmaxCrossEntropy"));
  const Scratch* host = ScratchOf(scratch_host_);
  *loss = host->loss / rows;
  *correct = static_cast<int64_t>(host->correct);
  return Result::Ok();
}

Result Context::Gather(int count, int cols, const float* table, int table_rows,
                       const int32_t* indices, float* out) {
  PETREL_RESULT_CHECK(ShapeCheck("Gather", count, cols));
  if (count == 0 || cols == 0) return Result::Ok();
  if (table == nullptr || indices == nullptr || out == nullptr) {
    return Result::Invalid("Gather: null pointer");
  }
  PETREL_ON_DEVICE();
  Scratch* scratch = ScratchOf(scratch_device_);
  PETREL_CUDA_CHECK(
      cudaMemsetAsync(&scratch->first_bad, 0xff, sizeof(scratch->first_bad), StreamOf(stream_)));
  PETREL_CUDA_CHECK(
      LaunchGather(StreamOf(stream_), count, cols, table, table_rows, indices, out, scratch));
  return CheckIndices("Gather");
}

Result Context::ScatterAdd(int count, int cols, const float* values, const int32_t* indices,
                           int table_rows, float* table) {
  PETREL_RESULT_CHECK(ShapeCheck("ScatterAdd", count, cols));
  if (count == 0 || cols == 0) return Result::Ok();
  if (table == nullptr || indices == nullptr || values == nullptr) {
    return Result::Invalid("ScatterAdd: null pointer");
  }
  PETREL_ON_DEVICE();
  Scratch* scratch = ScratchOf(scratch_device_);
  PETREL_CUDA_CHECK(
      cudaMemsetAsync(&scratch->first_bad, 0xff, sizeof(scratch->first_bad), StreamOf(stream_)));
  PETREL_CUDA_CHECK(LaunchScatterAdd(StreamOf(stream_), count, cols, values, indices, table_rows,
                                     table, scratch));
  return CheckIndices("ScatterAdd");
}

}  // namespace petrel::kernels::cuda

// The plain C++ face of Petrel's CUDA code. Everything that touches the CUDA
// runtime or cuBLAS is compiled by nvcc behind this header, which includes
// neither CUDA nor Abseil headers: g++ compiles the Abseil side
// (cuda_backend.cc), and tools/gpu_check compiles a standalone parity program
// against it on a machine that has no Abseil.
//
// Every call into CUDA or cuBLAS is checked; a failure comes back as a Result
// that names the call, and cuda_status.h turns it into an absl::Status.
#ifndef PETREL_KERNELS_CUDA_CUDA_API_H_
#define PETREL_KERNELS_CUDA_CUDA_API_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace petrel::kernels::cuda {

struct Result {
  enum class Kind {
    kOk,
    kCudaError,        // a CUDA runtime call failed; code is its cudaError_t
    kCublasError,      // a cuBLAS call failed; code is its cublasStatus_t
    kInvalidArgument,  // bad shapes, pointers or indices; nothing was launched
                       // (or, for indices, nothing is guaranteed written)
  };
  Kind kind = Kind::kOk;
  int code = 0;
  std::string call;     // the failing call as written, e.g. "cudaMalloc(&p, bytes)"
  std::string message;  // the library's description of `code`, or what was wrong
  bool out_of_memory = false;  // reported by callers as resource exhaustion

  bool ok() const { return kind == Kind::kOk; }
  // One line for logs: "cudaMalloc(&p, bytes) failed: out of memory (cudaErrorMemoryAllocation)".
  std::string ToString() const;

  static Result Ok() { return Result(); }
  static Result Invalid(std::string what);
};

// cudaGetDeviceCount. Where there is no GPU or driver this fails (e.g. "CUDA
// driver version is insufficient for CUDA runtime version").
Result DeviceCount(int* count);

struct DeviceInfo {
  int ordinal = 0;
  std::string name;           // e.g. "NVIDIA H100 80GB HBM3"
  size_t total_memory = 0;    // bytes
  int major = 0, minor = 0;   // compute capability
  int multiprocessors = 0;
  int runtime_version = 0;    // e.g. 13000
  int cublas_version = 0;     // e.g. 130000
};

// One device, one stream and one cuBLAS handle: everything a backend launches
// goes onto that stream in order. Not thread-safe; one per worker.
class Context {
 public:
  struct Options {
    int ordinal = 0;
    // Let cuBLAS use TF32 tensor cores for float32 GEMMs: faster, with a
    // 10-bit mantissa on the inputs (relative error ~1e-3 rather than ~1e-6).
    bool allow_tf32 = false;
  };
  static Result Create(const Options& options, std::unique_ptr<Context>* out);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const DeviceInfo& info() const { return info_; }
  const Options& options() const { return options_; }

  // Device memory. Free(nullptr) is a no-op.
  Result Allocate(size_t bytes, void** device);
  Result Free(void* device);

  // Host <-> device through a pinned staging buffer that is allocated once and
  // grows only when a larger copy comes. CopyToDevice returns once `host` has
  // been staged (the copy itself overlaps whatever the host does next);
  // CopyToHost waits for the stream.
  Result CopyToDevice(const void* host, void* device, size_t bytes);
  Result CopyToHost(const void* device, void* host, size_t bytes);
  Result Memset(void* device, int value, size_t bytes);
  Result Synchronize();
  // Switches cuBLAS between float32 and TF32 tensor-core GEMMs.
  Result SetAllowTf32(bool allowed);

  // Row-major c[m x n] = alpha * op(a) * op(b) + beta * c (cuBLAS sgemm).
  Result Gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* a,
              const float* b, float beta, float* c);
  // x = act(x + bias), one fused kernel.
  Result BiasActivation(int rows, int cols, const float* bias, bool relu, float* x);
  // grad[i] = 0 where activated[i] <= 0.
  Result ReluBackward(size_t count, const float* activated, float* grad);
  // out[c] = sum_r x[r][c] (accumulated in double).
  Result ColumnSum(int rows, int cols, const float* x, float* out);
  // Loss, accuracy and (when grad != nullptr) the gradient (softmax - onehot)
  // / rows, in one pass over the logits; waits for the result. A label outside
  // [0, cols) fails with kInvalidArgument naming the first such row; grad is
  // then unspecified for the valid rows.
  Result SoftmaxCrossEntropy(int rows, int cols, const float* logits, const int32_t* labels,
                             float* grad, double* loss, int64_t* correct);

  // Sparse rows, for sparse tables: out[i][:] = table[indices[i]][:] and
  // table[indices[i]][:] += values[i][:] (duplicate indices add up; order of
  // the float additions is unspecified). Indices outside [0, table_rows) fail
  // with kInvalidArgument after the launch (this waits for the stream); rows
  // with valid indices are still processed.
  Result Gather(int count, int cols, const float* table, int table_rows, const int32_t* indices,
                float* out);
  Result ScatterAdd(int count, int cols, const float* values, const int32_t* indices,
                    int table_rows, float* table);

 private:
  Context() = default;
  Result Stage(size_t bytes);
  Result CheckIndices(const char* op);

  Options options_;
  DeviceInfo info_;
  void* stream_ = nullptr;         // cudaStream_t
  void* cublas_ = nullptr;         // cublasHandle_t
  void* staged_event_ = nullptr;   // cudaEvent_t: the last copy out of staging
  void* staging_ = nullptr;        // pinned host memory
  size_t staging_bytes_ = 0;
  // Small device and pinned host scratch for reductions and error flags,
  // allocated once in Create.
  void* scratch_device_ = nullptr;
  void* scratch_host_ = nullptr;
};

}  // namespace petrel::kernels::cuda

#endif  // PETREL_KERNELS_CUDA_CUDA_API_H_

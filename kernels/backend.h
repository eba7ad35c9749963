// The compute interface a worker trains through. Two backends implement it:
// the CPU (kernels/cpu, OpenBLAS; the reference) and CUDA (kernels/cuda).
// Pointers passed to the math calls point to memory the same backend
// allocated (host memory for the CPU, device memory for CUDA); Copy* move data
// between that memory and the host. Matrices are row-major.
#ifndef PETREL_KERNELS_BACKEND_H_
#define PETREL_KERNELS_BACKEND_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace petrel::kernels {

// A move-only array in a backend's memory, freed by that backend.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(T* data, size_t size, std::function<void(T*)> free)
      : data_(data), size_(size), free_(std::move(free)) {}
  DeviceArray(DeviceArray&& other) noexcept { *this = std::move(other); }
  DeviceArray& operator=(DeviceArray&& other) noexcept {
    if (this != &other) {
      Reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
      free_ = std::move(other.free_);
    }
    return *this;
  }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { Reset(); }

  T* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  void Reset() {
    if (data_ != nullptr && free_) free_(data_);
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
  std::function<void(T*)> free_;
};

enum class Transpose { kNo, kYes };
enum class Activation { kIdentity, kRelu };

class Backend {
 public:
  virtual ~Backend() = default;

  // What a person reads in logs and /status, e.g. "cpu (OpenBLAS, 2 threads)".
  virtual std::string Description() const = 0;

  // Whether GEMMs may use TF32 tensor-core math (a job's
  // training.allow_tf32): faster on GPUs that have it, with a 10-bit
  // mantissa in the products. Backends without such a mode keep float32
  // and accept either value.
  virtual absl::Status SetAllowTf32(bool /*allowed*/) { return absl::OkStatus(); }

  virtual absl::StatusOr<DeviceArray<float>> AllocateFloats(size_t count) = 0;
  virtual absl::StatusOr<DeviceArray<int32_t>> AllocateInts(size_t count) = 0;
  virtual absl::Status CopyToDevice(absl::Span<const float> host, float* device) = 0;
  virtual absl::Status CopyToDevice(absl::Span<const int32_t> host, int32_t* device) = 0;
  virtual absl::Status CopyToHost(const float* device, absl::Span<float> host) = 0;

  // c[m x n] = alpha * op(a) * op(b) + beta * c, where op(a) is m x k and
  // op(b) is k x n.
  virtual absl::Status Gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k,
                            float alpha, const float* a, const float* b, float beta,
                            float* c) = 0;

  // x[r][c] = act(x[r][c] + bias[c]) for a rows x cols matrix, in place.
  virtual absl::Status BiasActivation(int rows, int cols, const float* bias,
                                      Activation activation, float* x) = 0;

  // grad[i] = 0 where activated[i] <= 0: the ReLU backward pass, in place,
  // given the ReLU's output.
  virtual absl::Status ReluBackward(size_t count, const float* activated, float* grad) = 0;

  // out[c] = sum over r of x[r][c]: the bias gradient.
  virtual absl::Status ColumnSum(int rows, int cols, const float* x, float* out) = 0;

  // For logits[rows x cols] and labels[rows] (in [0, cols)): the mean softmax
  // cross-entropy loss and the count of rows whose arg-max equals the label,
  // both returned to the host. When grad is not null it receives
  // d(mean loss)/d(logits) = (softmax - onehot) / rows.
  struct LossResult {
    double loss = 0;    // mean over rows
    int64_t correct = 0;
  };
  virtual absl::StatusOr<LossResult> SoftmaxCrossEntropy(int rows, int cols,
                                                         const float* logits,
                                                         const int32_t* labels,
                                                         float* grad) = 0;
};

// Backend selection. `device` is "cpu", "auto" (a GPU when one is usable,
// else the CPU) or "cuda:N". `why` (optional) receives a sentence saying
// which backend was chosen and why, for the log.
absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const std::string& device,
                                                       std::string* why = nullptr);

// How many CUDA devices this process can see (cuda:0 .. cuda:N-1): 0 when the
// build has no CUDA or cudaGetDeviceCount fails. Seeing a device does not
// promise that it initialises; CreateBackend("cuda:N") finds that out.
int VisibleCudaDevices();

}  // namespace petrel::kernels

#endif  // PETREL_KERNELS_BACKEND_H_

#include "kernels/cpu/cpu_backend.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "absl/strings/str_cat.h"

namespace petrel::kernels {
namespace {

template <typename T>
absl::StatusOr<DeviceArray<T>> Allocate(size_t count) {
  // Value-initialised so that a buffer never holds stale garbage.
  T* data = new (std::nothrow) T[count]();
  if (data == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cpu backend: cannot allocate ", count * sizeof(T), " bytes"));
  }
  return DeviceArray<T>(data, count, [](T* p) { delete[] p; });
}

absl::Status CheckShape(const char* op, int rows, int cols) {
  if (rows < 0 || cols < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(op, ": negative shape ", rows, " x ", cols));
  }
  return absl::OkStatus();
}

absl::Status CheckPointer(const char* op, const char* name, const void* p, size_t count) {
  if (p == nullptr && count > 0) {
    return absl::InvalidArgumentError(absl::StrCat(op, ": ", name, " is null"));
  }
  return absl::OkStatus();
}

}  // namespace

std::string CpuBackend::Description() const {
  return absl::StrCat("cpu (OpenBLAS, ", openblas_get_num_threads(), " threads)");
}

absl::StatusOr<DeviceArray<float>> CpuBackend::AllocateFloats(size_t count) {
  return Allocate<float>(count);
}

absl::StatusOr<DeviceArray<int32_t>> CpuBackend::AllocateInts(size_t count) {
  return Allocate<int32_t>(count);
}

absl::Status CpuBackend::CopyToDevice(absl::Span<const float> host, float* device) {
  if (auto s = CheckPointer("CopyToDevice", "device", device, host.size()); !s.ok()) return s;
  if (!host.empty()) std::memcpy(device, host.data(), host.size() * sizeof(float));
  return absl::OkStatus();
}

absl::Status CpuBackend::CopyToDevice(absl::Span<const int32_t> host, int32_t* device) {
  if (auto s = CheckPointer("CopyToDevice", "device", device, host.size()); !s.ok()) return s;
  if (!host.empty()) std::memcpy(device, host.data(), host.size() * sizeof(int32_t));
  return absl::OkStatus();
}

absl::Status CpuBackend::CopyToHost(const float* device, absl::Span<float> host) {
  if (auto s = CheckPointer("CopyToHost", "device", device, host.size()); !s.ok()) return s;
  if (!host.empty()) std::memcpy(host.data(), device, host.size() * sizeof(float));
  return absl::OkStatus();
}

absl::Status CpuBackend::Gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k,
                              float alpha, const float* a, const float* b, float beta,
                              float* c) {
  if (m < 0 || n < 0 || k < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Gemm: negative size m=", m, " n=", n, " k=", k));
  }
  if (m == 0 || n == 0) return absl::OkStatus();
  if (a == nullptr || b == nullptr || c == nullptr) {
    return absl::InvalidArgumentError("Gemm: null matrix");
  }
  const bool ta = trans_a == Transpose::kYes;
  const bool tb = trans_b == Transpose::kYes;
  // Leading dimensions of the stored (untransposed) row-major matrices; BLAS
  // wants them >= 1 even when k == 0.
  const int lda = std::max(1, ta ? m : k);
  const int ldb = std::max(1, tb ? k : n);
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
              m, n, k, alpha, a, lda, b, ldb, beta, c, n);
  return absl::OkStatus();
}

absl::Status CpuBackend::BiasActivation(int rows, int cols, const float* bias,
                                        Activation activation, float* x) {
  if (auto s = CheckShape("BiasActivation", rows, cols); !s.ok()) return s;
  const size_t count = static_cast<size_t>(rows) * cols;
  if (count == 0) return absl::OkStatus();
  if (bias == nullptr || x == nullptr) {
    return absl::InvalidArgumentError("BiasActivation: null pointer");
  }
  const bool relu = activation == Activation::kRelu;
  for (int r = 0; r < rows; ++r) {
    float* row = x + static_cast<size_t>(r) * cols;
    for (int j = 0; j < cols; ++j) {
      const float v = row[j] + bias[j];
      row[j] = relu ? std::max(v, 0.0f) : v;
    }
  }
  return absl::OkStatus();
}

absl::Status CpuBackend::ReluBackward(size_t count, const float* activated, float* grad) {
  if (count == 0) return absl::OkStatus();
  if (activated == nullptr || grad == nullptr) {
    return absl::InvalidArgumentError("ReluBackward: null pointer");
  }
  for (size_t i = 0; i < count; ++i) grad[i] = activated[i] > 0 ? grad[i] : 0.0f;
  return absl::OkStatus();
}

absl::Status CpuBackend::ColumnSum(int rows, int cols, const float* x, float* out) {
  if (auto s = CheckShape("ColumnSum", rows, cols); !s.ok()) return s;
  if (cols == 0) return absl::OkStatus();
  if (out == nullptr || (rows > 0 && x == nullptr)) {
    return absl::InvalidArgumentError("ColumnSum: null pointer");
  }
  std::fill(out, out + cols, 0.0f);
  // Row by row so the inner loop runs over contiguous columns.
  for (int r = 0; r < rows; ++r) {
    const float* row = x + static_cast<size_t>(r) * cols;
    for (int j = 0; j < cols; ++j) out[j] += row[j];
  }
  return absl::OkStatus();
}

absl::StatusOr<Backend::LossResult> CpuBackend::SoftmaxCrossEntropy(int rows, int cols,
                                                                    const float* logits,
                                                                    const int32_t* labels,
                                                                    float* grad) {
  if (rows <= 0 || cols <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("SoftmaxCrossEntropy: shape must be positive, got ", rows, " x ", cols));
  }
  if (logits == nullptr || labels == nullptr) {
    return absl::InvalidArgumentError("SoftmaxCrossEntropy: null pointer");
  }
  // Check every label before writing anything, so an error leaves grad as is.
  for (int r = 0; r < rows; ++r) {
    if (labels[r] < 0 || labels[r] >= cols) {
      return absl::InvalidArgumentError(absl::StrCat("SoftmaxCrossEntropy: row ", r,
                                                     " has label ", labels[r],
                                                     ", outside [0, ", cols, ")"));
    }
  }
  LossResult result;
  double total = 0;
  const float scale = 1.0f / rows;
  for (int r = 0; r < rows; ++r) {
    const float* row = logits + static_cast<size_t>(r) * cols;
    // Subtracting the row max keeps exp() from overflowing.
    int argmax = 0;
    for (int j = 1; j < cols; ++j) {
      if (row[j] > row[argmax]) argmax = j;
    }
    const float max = row[argmax];
    double sum = 0;
    for (int j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(row[j] - max));
    const int label = labels[r];
    total += std::log(sum) - static_cast<double>(row[label] - max);
    if (argmax == label) ++result.correct;
    if (grad != nullptr) {
      float* g = grad + static_cast<size_t>(r) * cols;
      const double inv_sum = 1.0 / sum;
      for (int j = 0; j < cols; ++j) {
        g[j] = static_cast<float>(std::exp(static_cast<double>(row[j] - max)) * inv_sum) * scale;
      }
      g[label] -= scale;
    }
  }
  result.loss = total / rows;
  return result;
}

}  // namespace petrel::kernels

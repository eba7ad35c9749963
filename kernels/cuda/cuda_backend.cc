#include "kernels/cuda/cuda_backend.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "kernels/cuda/cuda_status.h"

namespace petrel::kernels {

absl::StatusOr<int> CudaBackend::DeviceCount() {
  int count = 0;
  const cuda::Result result = cuda::DeviceCount(&count);
  if (!result.ok()) return absl::UnavailableError(result.ToString());
  return count;
}

absl::StatusOr<std::unique_ptr<CudaBackend>> CudaBackend::Create(const Options& options) {
  cuda::Context::Options context_options;
  context_options.ordinal = options.ordinal;
  context_options.allow_tf32 = options.allow_tf32;
  std::unique_ptr<cuda::Context> context;
  const cuda::Result result = cuda::Context::Create(context_options, &context);
  if (!result.ok()) {
    return absl::UnavailableError(
        absl::StrCat("cuda:", options.ordinal, " is not usable: ", result.ToString()));
  }
  return std::unique_ptr<CudaBackend>(new CudaBackend(std::move(context)));
}

absl::Status CudaBackend::SetAllowTf32(bool allowed) {
  PETREL_CUDA_RETURN_IF_ERROR(context_->SetAllowTf32(allowed));
  return absl::OkStatus();
}

std::string CudaBackend::Description() const {
  const cuda::DeviceInfo& info = context_->info();
  // e.g. "cuda:0 (NVIDIA H100 80GB HBM3, 79.1 GiB, sm_90, CUDA 13.0, cuBLAS 13.0.2)".
  return absl::StrFormat("cuda:%d (%s, %.1f GiB, sm_%d%d, CUDA %d.%d, cuBLAS %d.%d.%d%s)",
                         info.ordinal, info.name,
                         static_cast<double>(info.total_memory) / (1u << 30), info.major,
                         info.minor, info.runtime_version / 1000,
                         (info.runtime_version % 1000) / 10, info.cublas_version / 10000,
                         (info.cublas_version / 100) % 100, info.cublas_version % 100,
                         context_->options().allow_tf32 ? ", TF32 GEMMs" : "");
}

template <typename T>
absl::StatusOr<DeviceArray<T>> CudaBackend::Allocate(size_t count) {
  void* device = nullptr;
  PETREL_CUDA_RETURN_IF_ERROR(context_->Allocate(count * sizeof(T), &device));
  // A failed cudaFree at teardown has no one to report to.
  return DeviceArray<T>(static_cast<T*>(device), count,
                        [context = context_](T* p) { (void)context->Free(p); });
}

absl::StatusOr<DeviceArray<float>> CudaBackend::AllocateFloats(size_t count) {
  return Allocate<float>(count);
}

absl::StatusOr<DeviceArray<int32_t>> CudaBackend::AllocateInts(size_t count) {
  return Allocate<int32_t>(count);
}

absl::Status CudaBackend::CopyToDevice(absl::Span<const float> host, float* device) {
  PETREL_CUDA_RETURN_IF_ERROR(
      context_->CopyToDevice(host.data(), device, host.size() * sizeof(float)));
  return absl::OkStatus();
}

absl::Status CudaBackend::CopyToDevice(absl::Span<const int32_t> host, int32_t* device) {
  PETREL_CUDA_RETURN_IF_ERROR(
      context_->CopyToDevice(host.data(), device, host.size() * sizeof(int32_t)));
  return absl::OkStatus();
}

absl::Status CudaBackend::CopyToHost(const float* device, absl::Span<float> host) {
  PETREL_CUDA_RETURN_IF_ERROR(
      context_->CopyToHost(device, host.data(), host.size() * sizeof(float)));
  return absl::OkStatus();
}

absl::Status CudaBackend::Gemm(Transpose trans_a, Transpose trans_b, int m, int n, int k,
                               float alpha, const float* a, const float* b, float beta,
                               float* c) {
  PETREL_CUDA_RETURN_IF_ERROR(context_->Gemm(trans_a == Transpose::kYes,
                                             trans_b == Transpose::kYes, m, n, k, alpha, a, b,
                                             beta, c));
  return absl::OkStatus();
}

absl::Status CudaBackend::BiasActivation(int rows, int cols, const float* bias,
                                         Activation activation, float* x) {
  PETREL_CUDA_RETURN_IF_ERROR(
      context_->BiasActivation(rows, cols, bias, activation == Activation::kRelu, x));
  return absl::OkStatus();
}

absl::Status CudaBackend::ReluBackward(size_t count, const float* activated, float* grad) {
  PETREL_CUDA_RETURN_IF_ERROR(context_->ReluBackward(count, activated, grad));
  return absl::OkStatus();
}

absl::Status CudaBackend::ColumnSum(int rows, int cols, const float* x, float* out) {
  PETREL_CUDA_RETURN_IF_ERROR(context_->ColumnSum(rows, cols, x, out));
  return absl::OkStatus();
}

absl::StatusOr<Backend::LossResult> CudaBackend::SoftmaxCrossEntropy(int rows, int cols,
                                                                     const float* logits,
                                                                     const int32_t* labels,
                                                                     float* grad) {
  LossResult result;
  PETREL_CUDA_RETURN_IF_ERROR(context_->SoftmaxCrossEntropy(rows, cols, logits, labels, grad,
                                                            &result.loss, &result.correct));
  return result;
}

absl::Status CudaBackend::Gather(int count, int cols, const float* table, int table_rows,
                                 const int32_t* indices, float* out) {
  PETREL_CUDA_RETURN_IF_ERROR(context_->Gather(count, cols, table, table_rows, indices, out));
  return absl::OkStatus();
}

absl::Status CudaBackend::ScatterAdd(int count, int cols, const float* values,
                                     const int32_t* indices, int table_rows, float* table) {
  PETREL_CUDA_RETURN_IF_ERROR(
      context_->ScatterAdd(count, cols, values, indices, table_rows, table));
  return absl::OkStatus();
}

absl::Status CudaBackend::Synchronize() {
  PETREL_CUDA_RETURN_IF_ERROR(context_->Synchronize());
  return absl::OkStatus();
}

}  // namespace petrel::kernels

// The CUDA backend against the CPU reference, kernel by kernel and for a whole
// training step, on fresh random inputs of awkward sizes. Outputs are poisoned
// with NaN before each run so that an element left unwritten fails.
//
// Error measure: |gpu - cpu| <= 1e-5 * max(|cpu|, magnitude), where magnitude
// is the sum of the absolute values of the terms behind that element (for a
// GEMM, sum_p |alpha a_ip b_pj| + |beta c_ij|; for a column sum, sum_r |x_rc|).
// Two float32 summations in different orders legitimately differ by a few ulps
// of that magnitude, not of a result that cancels to near zero.
//
// Without a usable GPU it prints "SKIPPED: no CUDA device: ..." once and every
// case returns early; tools/test counts the target as skipped, not passed.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_backend.h"
#include "kernels/cuda/cuda_backend.h"

namespace petrel::kernels {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kTolerance = 1e-5;
constexpr int kRows[] = {1, 7, 129, 4097};
constexpr int kCols[] = {1, 10, 33, 129};

// The GPU backend shared by all cases, or null (having said why) without one.
CudaBackend* Gpu() {
  static std::unique_ptr<CudaBackend> backend = [] {
    std::unique_ptr<CudaBackend> created;
    absl::StatusOr<int> count = CudaBackend::DeviceCount();
    if (!count.ok()) {
      std::printf("SKIPPED: no CUDA device: %s\n", std::string(count.status().message()).c_str());
    } else if (*count == 0) {
      std::printf("SKIPPED: no CUDA device: none visible\n");
    } else {
      auto made = CudaBackend::Create({});
      if (made.ok()) {
        created = std::move(*made);
        std::printf("running on %s\n", created->Description().c_str());
      } else {
        std::printf("SKIPPED: no CUDA device: %s\n", std::string(made.status().message()).c_str());
      }
    }
    return created;
  }();
  return backend.get();
}

#define REQUIRE_GPU_OR_SKIP()          \
  CudaBackend* gpu = Gpu();            \
  if (gpu == nullptr) return;          \
  CpuBackend cpu

std::vector<float> Random(size_t n, std::mt19937* rng, float scale = 1.0f) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(*rng);
  return v;
}

template <typename T>
DeviceArray<T> Upload(Backend* backend, const std::vector<T>& host) {
  absl::StatusOr<DeviceArray<T>> array;
  if constexpr (std::is_same_v<T, float>) {
    array = backend->AllocateFloats(host.size());
  } else {
    array = backend->AllocateInts(host.size());
  }
  REQUIRE(array.ok());
  REQUIRE(backend->CopyToDevice(absl::MakeConstSpan(host), array->data()).ok());
  return std::move(*array);
}

std::vector<float> Download(Backend* backend, const DeviceArray<float>& array) {
  std::vector<float> host(array.size(), 1234.5f);
  REQUIRE(backend->CopyToHost(array.data(), absl::MakeSpan(host)).ok());
  return host;
}

void ExpectClose(const std::vector<float>& gpu, const std::vector<float>& cpu,
                 const std::vector<double>& magnitude) {
  REQUIRE(gpu.size() == cpu.size());
  for (size_t i = 0; i < gpu.size(); ++i) {
    const double bound =
        kTolerance * std::max<double>(std::fabs(cpu[i]), magnitude.empty() ? 0 : magnitude[i]);
    INFO("element " << i << ": gpu " << gpu[i] << " cpu " << cpu[i] << " bound " << bound);
    REQUIRE(std::isfinite(gpu[i]));
    REQUIRE(std::fabs(double{gpu[i]} - cpu[i]) <= bound);
  }
}

// Element (i, j) of op(x) where x is stored row-major with `ld` columns.
float At(const std::vector<float>& x, bool trans, int ld, int i, int j) {
  return trans ? x[static_cast<size_t>(j) * ld + i] : x[static_cast<size_t>(i) * ld + j];
}

TEST_CASE("Gemm matches the CPU") {
  REQUIRE_GPU_OR_SKIP();
  std::mt19937 rng(1);
  const std::pair<float, float> scalars[] = {{1.0f, 0.0f}, {-0.5f, 0.75f}};
  for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      for (int m : kRows) {
        for (int n : {1, 7, 129}) {
          for (int k : {1, 7, 129, 257}) {
            for (auto [alpha, beta] : scalars) {
              const bool a_t = ta == Transpose::kYes, b_t = tb == Transpose::kYes;
              INFO("ta=" << a_t << " tb=" << b_t << " m=" << m << " n=" << n << " k=" << k
                         << " alpha=" << alpha << " beta=" << beta);
              auto a = Random(static_cast<size_t>(m) * k, &rng);
              auto b = Random(static_cast<size_t>(k) * n, &rng);
              auto c = Random(static_cast<size_t>(m) * n, &rng);
              // With beta == 0, c is output only: poison it.
              std::vector<float> c_in = beta == 0 ? std::vector<float>(c.size(), kNaN) : c;
              auto da = Upload(gpu, a), db = Upload(gpu, b), dc = Upload(gpu, c_in);
              REQUIRE(gpu->Gemm(ta, tb, m, n, k, alpha, da.data(), db.data(), beta, dc.data())
                          .ok());
              std::vector<float> expected = c;
              REQUIRE(cpu.Gemm(ta, tb, m, n, k, alpha, a.data(), b.data(), beta,
                               expected.data())
                          .ok());
              std::vector<double> magnitude(c.size());
              for (int i = 0; i < m; ++i) {
                for (int j = 0; j < n; ++j) {
                  double sum = beta == 0 ? 0 : std::fabs(beta * c[i * n + j]);
                  for (int p = 0; p < k; ++p) {
                    sum += std::fabs(alpha * At(a, a_t, a_t ? m : k, i, p) *
                                     At(b, b_t, b_t ? k : n, p, j));
                  }
                  magnitude[static_cast<size_t>(i) * n + j] = sum;
                }
              }
              ExpectClose(Download(gpu, dc), expected, magnitude);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("BiasActivation and ReluBackward match the CPU") {
  REQUIRE_GPU_OR_SKIP();
  std::mt19937 rng(2);
  for (int rows : kRows) {
    for (int cols : kCols) {
      for (Activation act : {Activation::kIdentity, Activation::kRelu}) {
        INFO("rows=" << rows << " cols=" << cols << " relu=" << (act == Activation::kRelu));
        auto x = Random(static_cast<size_t>(rows) * cols, &rng);
        auto bias = Random(cols, &rng);
        auto dx = Upload(gpu, x), dbias = Upload(gpu, bias);
        REQUIRE(gpu->BiasActivation(rows, cols, dbias.data(), act, dx.data()).ok());
        REQUIRE(cpu.BiasActivation(rows, cols, bias.data(), act, x.data()).ok());
        ExpectClose(Download(gpu, dx), x, {});

        auto grad = Random(x.size(), &rng);
        auto dgrad = Upload(gpu, grad);
        REQUIRE(gpu->ReluBackward(x.size(), dx.data(), dgrad.data()).ok());
        REQUIRE(cpu.ReluBackward(x.size(), x.data(), grad.data()).ok());
        ExpectClose(Download(gpu, dgrad), grad, {});
      }
    }
  }
}

TEST_CASE("ColumnSum matches the CPU") {
  REQUIRE_GPU_OR_SKIP();
  std::mt19937 rng(3);
  for (int rows : kRows) {
    for (int cols : {1, 10, 33, 129, 4097}) {
      INFO("rows=" << rows << " cols=" << cols);
      auto x = Random(static_cast<size_t>(rows) * cols, &rng);
      auto dx = Upload(gpu, x);
      auto dout = Upload(gpu, std::vector<float>(cols, kNaN));
      REQUIRE(gpu->ColumnSum(rows, cols, dx.data(), dout.data()).ok());
      std::vector<float> expected(cols);
      REQUIRE(cpu.ColumnSum(rows, cols, x.data(), expected.data()).ok());
      std::vector<double> magnitude(cols, 0);
      for (size_t i = 0; i < x.size(); ++i) magnitude[i % cols] += std::fabs(x[i]);
      ExpectClose(Download(gpu, dout), expected, magnitude);
    }
  }
}

TEST_CASE("SoftmaxCrossEntropy matches the CPU: loss, accuracy and gradient") {
  REQUIRE_GPU_OR_SKIP();
  std::mt19937 rng(4);
  for (int rows : kRows) {
    for (int cols : {1, 2, 10, 33, 129, 1000}) {
      INFO("rows=" << rows << " cols=" << cols);
      auto logits = Random(static_cast<size_t>(rows) * cols, &rng, 8.0f);
      std::vector<int32_t> labels(rows);
      std::uniform_int_distribution<int> pick(0, cols - 1);
      for (int32_t& l : labels) l = pick(rng);
      auto dlogits = Upload(gpu, logits);
      auto dlabels = Upload(gpu, labels);
      auto dgrad = Upload(gpu, std::vector<float>(logits.size(), kNaN));
      auto got = gpu->SoftmaxCrossEntropy(rows, cols, dlogits.data(), dlabels.data(),
                                          dgrad.data());
      REQUIRE(got.ok());
      std::vector<float> grad(logits.size());
      auto want = cpu.SoftmaxCrossEntropy(rows, cols, logits.data(), labels.data(), grad.data());
      REQUIRE(want.ok());
      CHECK(got->loss == Approx(want->loss).epsilon(kTolerance).margin(1e-12));
      CHECK(got->correct == want->correct);
      // The gradient's natural scale is 1/rows.
      ExpectClose(Download(gpu, dgrad), grad,
                  std::vector<double>(grad.size(), 1e-6 / rows));

      // Without a gradient, and with a bad label.
      auto loss_only = gpu->SoftmaxCrossEntropy(rows, cols, dlogits.data(), dlabels.data(),
                                                nullptr);
      REQUIRE(loss_only.ok());
      CHECK(loss_only->loss == Approx(want->loss).epsilon(kTolerance).margin(1e-12));
    }
  }
  std::vector<int32_t> bad = {0, 3, -1, 99};
  auto dbad = Upload(gpu, bad);
  auto dlogits = Upload(gpu, std::vector<float>(4 * 10, 0.0f));
  auto status = gpu->SoftmaxCrossEntropy(4, 10, dlogits.data(), dbad.data(), nullptr).status();
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()), Catch::Contains("row 2 has label -1"));
}

TEST_CASE("errors name the failing call") {
  REQUIRE_GPU_OR_SKIP();
  auto huge = gpu->AllocateFloats(size_t{1} << 48);  // 1 PiB
  REQUIRE_FALSE(huge.ok());
  CHECK(huge.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(huge.status().message()), Catch::Contains("cudaMalloc"));
  float x = 0;
  CHECK(gpu->Gemm(Transpose::kNo, Transpose::kNo, -1, 1, 1, 1, &x, &x, 0, &x).code() ==
        absl::StatusCode::kInvalidArgument);
}

// A two-layer MLP step through the Backend interface only: the same code runs
// on both backends, and loss, accuracy and every gradient must agree.
struct StepResult {
  Backend::LossResult loss;
  std::vector<std::vector<float>> grads;  // dW1, db1, dW2, db2
};

StepResult TrainingStep(Backend* backend, int batch, int in, int hidden, int out,
                        const std::vector<float>& x, const std::vector<int32_t>& labels,
                        const std::vector<float>& w1, const std::vector<float>& b1,
                        const std::vector<float>& w2, const std::vector<float>& b2) {
  auto dx = Upload(backend, x);
  auto dlabels = Upload(backend, labels);
  auto dw1 = Upload(backend, w1), db1 = Upload(backend, b1);
  auto dw2 = Upload(backend, w2), db2 = Upload(backend, b2);
  auto poisoned = [&](size_t n) { return Upload(backend, std::vector<float>(n, kNaN)); };
  auto h = poisoned(static_cast<size_t>(batch) * hidden);
  auto logits = poisoned(static_cast<size_t>(batch) * out);
  auto dlogits = poisoned(logits.size());
  auto dh = poisoned(h.size());
  auto gw1 = poisoned(w1.size()), gb1 = poisoned(b1.size());
  auto gw2 = poisoned(w2.size()), gb2 = poisoned(b2.size());
  const auto N = Transpose::kNo, T = Transpose::kYes;
  REQUIRE(backend->Gemm(N, N, batch, hidden, in, 1, dx.data(), dw1.data(), 0, h.data()).ok());
  REQUIRE(backend->BiasActivation(batch, hidden, db1.data(), Activation::kRelu, h.data()).ok());
  REQUIRE(backend->Gemm(N, N, batch, out, hidden, 1, h.data(), dw2.data(), 0, logits.data())
              .ok());
  REQUIRE(backend->BiasActivation(batch, out, db2.data(), Activation::kIdentity, logits.data())
              .ok());
  StepResult result;
  auto loss = backend->SoftmaxCrossEntropy(batch, out, logits.data(), dlabels.data(),
                                           dlogits.data());
  REQUIRE(loss.ok());
  result.loss = *loss;
  REQUIRE(backend->Gemm(T, N, hidden, out, batch, 1, h.data(), dlogits.data(), 0, gw2.data())
              .ok());
  REQUIRE(backend->ColumnSum(batch, out, dlogits.data(), gb2.data()).ok());
  REQUIRE(backend->Gemm(N, T, batch, hidden, out, 1, dlogits.data(), dw2.data(), 0, dh.data())
              .ok());
  REQUIRE(backend->ReluBackward(dh.size(), h.data(), dh.data()).ok());
  REQUIRE(backend->Gemm(T, N, in, hidden, batch, 1, dx.data(), dh.data(), 0, gw1.data()).ok());
  REQUIRE(backend->ColumnSum(batch, hidden, dh.data(), gb1.data()).ok());
  for (const auto* g : {&gw1, &gb1, &gw2, &gb2}) result.grads.push_back(Download(backend, *g));
  return result;
}

TEST_CASE("a whole training step matches the CPU") {
  REQUIRE_GPU_OR_SKIP();
  std::mt19937 rng(5);
  const int in = 33, hidden = 129, out = 10;
  for (int batch : {1, 7, 129, 4097}) {
    INFO("batch=" << batch);
    auto x = Random(static_cast<size_t>(batch) * in, &rng);
    std::vector<int32_t> labels(batch);
    for (int32_t& l : labels) l = static_cast<int32_t>(rng() % out);
    auto w1 = Random(static_cast<size_t>(in) * hidden, &rng, 0.3f), b1 = Random(hidden, &rng);
    auto w2 = Random(static_cast<size_t>(hidden) * out, &rng, 0.3f), b2 = Random(out, &rng);
    StepResult g = TrainingStep(gpu, batch, in, hidden, out, x, labels, w1, b1, w2, b2);
    StepResult c = TrainingStep(&cpu, batch, in, hidden, out, x, labels, w1, b1, w2, b2);
    CHECK(g.loss.loss == Approx(c.loss.loss).epsilon(kTolerance));
    CHECK(g.loss.correct == c.loss.correct);
    // Gradients: error relative to the largest element of the same tensor.
    for (size_t t = 0; t < g.grads.size(); ++t) {
      INFO("gradient " << t);
      float scale = 0;
      for (float v : c.grads[t]) scale = std::max(scale, std::fabs(v));
      ExpectClose(g.grads[t], c.grads[t], std::vector<double>(c.grads[t].size(), scale));
    }
  }
}

}  // namespace
}  // namespace petrel::kernels

#define CATCH_CONFIG_MAIN
#include "kernels/cpu/cpu_backend.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <random>
#include <vector>

#include "absl/strings/match.h"
#include "kernels/backend.h"

namespace petrel::kernels {
namespace {

std::vector<float> RandomVector(size_t n, std::mt19937* rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(*rng);
  return v;
}

// Element (i, j) of op(x) where x is stored row-major with `ld` columns.
float At(const std::vector<float>& x, bool trans, int ld, int i, int j) {
  return trans ? x[static_cast<size_t>(j) * ld + i] : x[static_cast<size_t>(i) * ld + j];
}

TEST_CASE("Gemm matches a naive triple loop") {
  CpuBackend backend;
  std::mt19937 rng(7);
  const int sizes[] = {1, 7, 129};
  const std::pair<float, float> scalars[] = {{1.0f, 0.0f}, {0.5f, 0.25f}, {-2.0f, 1.0f}};
  for (Transpose ta : {Transpose::kNo, Transpose::kYes}) {
    for (Transpose tb : {Transpose::kNo, Transpose::kYes}) {
      for (int m : sizes) {
        for (int n : sizes) {
          for (int k : sizes) {
            for (auto [alpha, beta] : scalars) {
              const bool a_t = ta == Transpose::kYes, b_t = tb == Transpose::kYes;
              auto a = RandomVector(static_cast<size_t>(m) * k, &rng);
              auto b = RandomVector(static_cast<size_t>(k) * n, &rng);
              auto c = RandomVector(static_cast<size_t>(m) * n, &rng);
              std::vector<float> expected(c.size());
              for (int i = 0; i < m; ++i) {
                for (int j = 0; j < n; ++j) {
                  double sum = 0;
                  for (int p = 0; p < k; ++p) {
                    sum += double{At(a, a_t, a_t ? m : k, i, p)} * At(b, b_t, b_t ? k : n, p, j);
                  }
                  expected[i * n + j] = alpha * sum + beta * c[i * n + j];
                }
              }
              INFO("ta=" << a_t << " tb=" << b_t << " m=" << m << " n=" << n << " k=" << k
                         << " alpha=" << alpha << " beta=" << beta);
              REQUIRE(backend.Gemm(ta, tb, m, n, k, alpha, a.data(), b.data(), beta, c.data())
                          .ok());
              for (size_t i = 0; i < c.size(); ++i) {
                REQUIRE(c[i] == Approx(expected[i]).margin(1e-4 * k));
              }
            }
          }
        }
      }
    }
  }
}

TEST_CASE("Gemm rejects negative sizes") {
  CpuBackend backend;
  float x = 0;
  auto status = backend.Gemm(Transpose::kNo, Transpose::kNo, -1, 1, 1, 1, &x, &x, 0, &x);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("BiasActivation adds the bias and applies the activation") {
  CpuBackend backend;
  std::vector<float> x = {1, -2, 3, -4, 5, -6};  // 2 x 3
  const std::vector<float> bias = {0.5f, 1.0f, -10.0f};
  std::vector<float> y = x;
  REQUIRE(backend.BiasActivation(2, 3, bias.data(), Activation::kIdentity, y.data()).ok());
  CHECK(y == std::vector<float>{1.5f, -1, -7, -3.5f, 6, -16});
  y = x;
  REQUIRE(backend.BiasActivation(2, 3, bias.data(), Activation::kRelu, y.data()).ok());
  CHECK(y == std::vector<float>{1.5f, 0, 0, 0, 6, 0});
}

TEST_CASE("ReluBackward zeroes the gradient where the output is not positive") {
  CpuBackend backend;
  const std::vector<float> activated = {0, 1, 0, 2.5f, 0};
  std::vector<float> grad = {1, 2, 3, 4, 5};
  REQUIRE(backend.ReluBackward(grad.size(), activated.data(), grad.data()).ok());
  CHECK(grad == std::vector<float>{0, 2, 0, 4, 0});
}

TEST_CASE("ColumnSum sums each column") {
  CpuBackend backend;
  const std::vector<float> x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};  // 4 x 3
  std::vector<float> out = {99, 99, 99};
  REQUIRE(backend.ColumnSum(4, 3, x.data(), out.data()).ok());
  CHECK(out == std::vector<float>{22, 26, 30});
  REQUIRE(backend.ColumnSum(0, 3, x.data(), out.data()).ok());
  CHECK(out == std::vector<float>{0, 0, 0});
}

// Mean cross-entropy and correct count, computed directly in double.
std::pair<double, int64_t> DirectLoss(int rows, int cols, const std::vector<float>& logits,
                                      const std::vector<int32_t>& labels) {
  double total = 0;
  int64_t correct = 0;
  for (int r = 0; r < rows; ++r) {
    double sum = 0;
    int argmax = 0;
    for (int j = 0; j < cols; ++j) {
      sum += std::exp(double{logits[r * cols + j]});
      if (logits[r * cols + j] > logits[r * cols + argmax]) argmax = j;
    }
    total += std::log(sum) - logits[r * cols + labels[r]];
    correct += argmax == labels[r];
  }
  return {total / rows, correct};
}

TEST_CASE("SoftmaxCrossEntropy matches a direct computation") {
  CpuBackend backend;
  std::mt19937 rng(3);
  const int rows = 9, cols = 7;
  auto logits = RandomVector(rows * cols, &rng);
  for (float& x : logits) x *= 5;
  std::vector<int32_t> labels(rows);
  for (int r = 0; r < rows; ++r) labels[r] = (r * 5) % cols;
  auto [loss, correct] = DirectLoss(rows, cols, logits, labels);
  auto result = backend.SoftmaxCrossEntropy(rows, cols, logits.data(), labels.data(), nullptr);
  REQUIRE(result.ok());
  CHECK(result->loss == Approx(loss).epsilon(1e-6));
  CHECK(result->correct == correct);
}

TEST_CASE("SoftmaxCrossEntropy is stable for huge logits") {
  CpuBackend backend;
  const std::vector<float> logits = {1000.0f, 0.0f, -1000.0f};
  const std::vector<int32_t> labels = {1};
  std::vector<float> grad(3);
  auto result = backend.SoftmaxCrossEntropy(1, 3, logits.data(), labels.data(), grad.data());
  REQUIRE(result.ok());
  CHECK(result->loss == Approx(1000.0));
  CHECK(result->correct == 0);
  CHECK(grad[0] == Approx(1.0f));
  CHECK(grad[1] == Approx(-1.0f));
  CHECK(std::isfinite(grad[2]));
}

TEST_CASE("SoftmaxCrossEntropy gradient matches finite differences") {
  CpuBackend backend;
  const int rows = 4, cols = 5;
  // Multiples of 1/64 and a power-of-two step keep every perturbed logit
  // exactly representable, so the difference quotient sees no rounding.
  std::mt19937 rng(11);
  std::vector<float> logits(rows * cols);
  for (float& x : logits) x = static_cast<float>(static_cast<int>(rng() % 257) - 128) / 64;
  const std::vector<int32_t> labels = {0, 4, 2, 2};
  std::vector<float> grad(rows * cols);
  REQUIRE(backend.SoftmaxCrossEntropy(rows, cols, logits.data(), labels.data(), grad.data())
              .ok());
  const float eps = 1.0f / 256;
  for (int i = 0; i < rows * cols; ++i) {
    auto perturbed = logits;
    perturbed[i] = logits[i] + eps;
    double up = backend.SoftmaxCrossEntropy(rows, cols, perturbed.data(), labels.data(), nullptr)
                    ->loss;
    perturbed[i] = logits[i] - eps;
    double down =
        backend.SoftmaxCrossEntropy(rows, cols, perturbed.data(), labels.data(), nullptr)->loss;
    INFO("logit " << i);
    CHECK(grad[i] == Approx((up - down) / (2 * eps)).margin(1e-5));
  }
}

TEST_CASE("SoftmaxCrossEntropy rejects a label out of range, naming the row") {
  CpuBackend backend;
  const std::vector<float> logits(6, 0.0f);
  const std::vector<int32_t> labels = {1, 3};
  std::vector<float> grad(6, 42.0f);
  auto result = backend.SoftmaxCrossEntropy(2, 3, logits.data(), labels.data(), grad.data());
  REQUIRE(result.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(result.status().message()),
             Catch::Contains("row 1") && Catch::Contains("label 3"));
  CHECK(grad == std::vector<float>(6, 42.0f));
}

TEST_CASE("Allocate and copy round-trip through host memory") {
  CpuBackend backend;
  auto floats = backend.AllocateFloats(4);
  REQUIRE(floats.ok());
  CHECK(floats->size() == 4);
  const std::vector<float> in = {1, 2, 3, 4};
  REQUIRE(backend.CopyToDevice(in, floats->data()).ok());
  std::vector<float> out(4);
  REQUIRE(backend.CopyToHost(floats->data(), absl::MakeSpan(out)).ok());
  CHECK(out == in);
  CHECK(backend.AllocateInts(3)->size() == 3);
  CHECK_THAT(backend.Description(), Catch::StartsWith("cpu (OpenBLAS"));
}

TEST_CASE("CreateBackend accepts cpu and auto and explains cuda:N") {
  std::string why;
  auto cpu = CreateBackend("cpu", &why);
  REQUIRE(cpu.ok());
  CHECK_THAT((*cpu)->Description(), Catch::StartsWith("cpu"));

  auto automatic = CreateBackend("auto", &why);
  REQUIRE(automatic.ok());
  // Here (no GPU) auto falls back; backend_selection_test checks the reasons.
  if (absl::StartsWith((*automatic)->Description(), "cpu")) {
    CHECK(absl::EndsWith(why, "; using the CPU"));
  }
  CHECK(CreateBackend("auto").ok());  // `why` is optional

  if (absl::StartsWith((*automatic)->Description(), "cpu")) {
    auto cuda = CreateBackend("cuda:0");
    CHECK(cuda.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(cuda.status().message()), Catch::Contains("cuda:0"));
  }

  for (const char* bad : {"gpu", "cuda", "cuda:", "cuda:-1", "cuda:x", "CPU", ""}) {
    auto status = CreateBackend(bad).status();
    INFO(bad);
    CHECK(status.code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(status.message()),
               Catch::Contains(std::string("\"") + bad + "\"") && Catch::Contains("cuda:N"));
  }
}

}  // namespace
}  // namespace petrel::kernels

// Standalone parity test and worker-step benchmark for the CUDA kernels.
//
// One file over 500 lines on purpose: tools/gpu_check compiles it with nvcc
// alone on a machine with no Bazel, so it carries its own small harness.
//
// Depends only on cuda_api.h (so on the CUDA runtime and cuBLAS, no Abseil,
// Catch2 or OpenBLAS): tools/gpu_check builds it with nvcc on a GPU machine
// that has no Bazel, and Bazel builds and runs it here as //kernels/cuda:gpu_parity.
//
//   gpu_parity                    parity tests; SKIP (exit 0) without a GPU
//   gpu_parity --bench [--json F] also the worker-step benchmark
//
// Parity: each kernel against a naive host reference (double accumulation) on
// fresh random inputs of awkward sizes, outputs poisoned with NaN first.
// Bound: |gpu - ref| <= 1e-5 * max(|ref|, magnitude), magnitude being the sum
// of the absolute values of the terms behind the element (see
// cuda_backend_test.cc); for TF32 GEMMs the bound is 4e-3 * magnitude (TF32
// keeps 10 of float32's 23 mantissa bits, so each input carries a relative
// error up to 2^-11 and each product up to ~2^-10).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_api.h"

namespace petrel::kernels::cuda {
namespace {

int failures = 0;
int checks = 0;

void Check(const Result& result, const std::string& what) {
  if (!result.ok()) {
    std::printf("FAIL %s: %s\n", what.c_str(), result.ToString().c_str());
    std::exit(1);  // a failed CUDA call leaves nothing worth comparing
  }
}

// A device buffer owned by the test.
template <typename T>
struct Buffer {
  Context* context = nullptr;
  T* data = nullptr;
  size_t size = 0;
  Buffer(Context* c, size_t n) : context(c), size(n) {
    void* p = nullptr;
    Check(c->Allocate(n * sizeof(T), &p), "Allocate");
    data = static_cast<T*>(p);
  }
  Buffer(Context* c, const std::vector<T>& host) : Buffer(c, host.size()) {
    Check(c->CopyToDevice(host.data(), data, host.size() * sizeof(T)), "CopyToDevice");
  }
  ~Buffer() { (void)context->Free(data); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  void Poison() { Check(context->Memset(data, 0xff, size * sizeof(T)), "Memset"); }  // NaN
  std::vector<T> Get() const {
    std::vector<T> host(size);
    Check(context->CopyToHost(data, host.data(), size * sizeof(T)), "CopyToHost");
    return host;
  }
};

std::vector<float> Random(size_t n, std::mt19937* rng, float scale = 1.0f) {
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(*rng);
  return v;
}

// Compares, printing the first bad element; magnitude may be empty.
void Expect(const std::string& what, const std::vector<float>& got,
            const std::vector<double>& want, const std::vector<double>& magnitude,
            double tolerance = 1e-5) {
  ++checks;
  for (size_t i = 0; i < got.size(); ++i) {
    const double bound =
        tolerance * std::max(std::fabs(want[i]), magnitude.empty() ? 0.0 : magnitude[i]);
    if (!std::isfinite(got[i]) || !(std::fabs(got[i] - want[i]) <= bound)) {
      std::printf("FAIL %s: element %zu: gpu %.9g, reference %.9g, bound %.3g\n", what.c_str(), i,
                  got[i], want[i], bound);
      ++failures;
      return;
    }
  }
}

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

constexpr int kRows[] = {1, 7, 129, 4097};

void TestGemm(Context* gpu, std::mt19937* rng, bool tf32) {
  for (bool ta : {false, true}) {
    for (bool tb : {false, true}) {
      for (int m : kRows) {
        for (int n : {1, 7, 129}) {
          for (int k : {1, 7, 129, 257}) {
            for (auto [alpha, beta] : {std::pair<float, float>{1, 0}, {-0.5f, 0.75f}}) {
              auto a = Random(size_t(m) * k, rng), b = Random(size_t(k) * n, rng);
              auto c = Random(size_t(m) * n, rng);
              Buffer<float> da(gpu, a), db(gpu, b), dc(gpu, c);
              if (beta == 0) dc.Poison();
              Check(gpu->Gemm(ta, tb, m, n, k, alpha, da.data, db.data, beta, dc.data), "Gemm");
              std::vector<double> want(c.size()), magnitude(c.size());
              for (int i = 0; i < m; ++i) {
                for (int j = 0; j < n; ++j) {
                  double sum = 0, mag = 0;
                  for (int p = 0; p < k; ++p) {
                    const double x = ta ? a[size_t(p) * m + i] : a[size_t(i) * k + p];
                    const double y = tb ? b[size_t(j) * k + p] : b[size_t(p) * n + j];
                    sum += x * y;
                    mag += std::fabs(x * y);
                  }
                  const size_t at = size_t(i) * n + j;
                  want[at] = alpha * sum + (beta == 0 ? 0.0 : double(beta) * c[at]);
                  magnitude[at] = std::fabs(alpha) * mag + std::fabs(double(beta) * c[at]);
                }
              }
              char what[128];
              std::snprintf(what, sizeof(what), "Gemm%s ta=%d tb=%d m=%d n=%d k=%d beta=%g",
                            tf32 ? " (TF32)" : "", ta, tb, m, n, k, beta);
              Expect(what, dc.Get(), want, magnitude, tf32 ? 4e-3 : 1e-5);
            }
          }
        }
      }
    }
  }
}

void TestElementwise(Context* gpu, std::mt19937* rng) {
  for (int rows : kRows) {
    for (int cols : {1, 10, 33, 129, 4097}) {
      const size_t count = size_t(rows) * cols;
      const std::string shape = " " + std::to_string(rows) + "x" + std::to_string(cols);
      for (bool relu : {false, true}) {
        auto x = Random(count, rng), bias = Random(cols, rng);
        Buffer<float> dx(gpu, x), dbias(gpu, bias);
        Check(gpu->BiasActivation(rows, cols, dbias.data, relu, dx.data), "BiasActivation");
        std::vector<double> want(count);
        for (size_t i = 0; i < count; ++i) {
          const float v = x[i] + bias[i % cols];
          want[i] = relu ? std::max(v, 0.0f) : v;
        }
        Expect((relu ? "BiasActivation relu" : "BiasActivation identity") + shape, dx.Get(),
               want, {});
        if (!relu) continue;
        auto activated = dx.Get();
        auto grad = Random(count, rng);
        Buffer<float> dgrad(gpu, grad);
        Check(gpu->ReluBackward(count, dx.data, dgrad.data), "ReluBackward");
        for (size_t i = 0; i < count; ++i) want[i] = activated[i] > 0 ? grad[i] : 0.0;
        Expect("ReluBackward" + shape, dgrad.Get(), want, {});
      }
      auto x = Random(count, rng);
      Buffer<float> dx(gpu, x), dout(gpu, cols);
      dout.Poison();
      Check(gpu->ColumnSum(rows, cols, dx.data, dout.data), "ColumnSum");
      std::vector<double> want(cols, 0), magnitude(cols, 0);
      for (size_t i = 0; i < count; ++i) {
        want[i % cols] += x[i];
        magnitude[i % cols] += std::fabs(x[i]);
      }
      Expect("ColumnSum" + shape, dout.Get(), want, magnitude);
    }
  }
}

// Reference softmax cross-entropy; returns the mean loss and fills grad.
double ReferenceLoss(int rows, int cols, const std::vector<float>& logits,
                     const std::vector<int32_t>& labels, std::vector<double>* grad,
                     int64_t* correct) {
  double total = 0;
  *correct = 0;
  grad->assign(logits.size(), 0);
  for (int r = 0; r < rows; ++r) {
    const float* x = &logits[size_t(r) * cols];
    int argmax = 0;
    for (int j = 1; j < cols; ++j) {
      if (x[j] > x[argmax]) argmax = j;
    }
    double sum = 0;
    for (int j = 0; j < cols; ++j) sum += std::exp(double(x[j]) - x[argmax]);
    total += std::log(sum) - (double(x[labels[r]]) - x[argmax]);
    if (argmax == labels[r]) ++*correct;
    for (int j = 0; j < cols; ++j) {
      (*grad)[size_t(r) * cols + j] =
          (std::exp(double(x[j]) - x[argmax]) / sum - (j == labels[r] ? 1 : 0)) / rows;
    }
  }
  return total / rows;
}

void TestSoftmax(Context* gpu, std::mt19937* rng) {
  for (int rows : kRows) {
    for (int cols : {1, 2, 10, 33, 129, 1000}) {
      auto logits = Random(size_t(rows) * cols, rng, 8.0f);
      std::vector<int32_t> labels(rows);
      for (int32_t& l : labels) l = int32_t((*rng)() % cols);
      Buffer<float> dlogits(gpu, logits), dgrad(gpu, logits.size());
      Buffer<int32_t> dlabels(gpu, labels);
      dgrad.Poison();
      double loss = 0;
      int64_t correct = -1, want_correct = 0;
      Check(gpu->SoftmaxCrossEntropy(rows, cols, dlogits.data, dlabels.data, dgrad.data, &loss,
                                     &correct),
            "SoftmaxCrossEntropy");
      std::vector<double> want_grad;
      const double want = ReferenceLoss(rows, cols, logits, labels, &want_grad, &want_correct);
      const std::string shape = " " + std::to_string(rows) + "x" + std::to_string(cols);
      ++checks;
      if (!(std::fabs(loss - want) <= 1e-5 * std::max(std::fabs(want), 1e-6)) ||
          correct != want_correct) {
        std::printf("FAIL SoftmaxCrossEntropy%s: loss %.9g correct %lld, reference %.9g %lld\n",
                    shape.c_str(), loss, (long long)correct, want, (long long)want_correct);
        ++failures;
      }
      // The gradient's natural scale is 1/rows.
      Expect("SoftmaxCrossEntropy gradient" + shape, dgrad.Get(), want_grad,
             std::vector<double>(want_grad.size(), 1e-6 / rows));
    }
  }
  Buffer<float> dlogits(gpu, std::vector<float>(40, 0.0f));
  Buffer<int32_t> dbad(gpu, std::vector<int32_t>{0, 3, -1, 99});
  double loss;
  int64_t correct;
  const Result bad = gpu->SoftmaxCrossEntropy(4, 10, dlogits.data, dbad.data, nullptr, &loss,
                                              &correct);
  ++checks;
  if (bad.kind != Result::Kind::kInvalidArgument ||
      bad.message.find("row 2 has label -1") == std::string::npos) {
    std::printf("FAIL SoftmaxCrossEntropy bad label: %s\n", bad.ToString().c_str());
    ++failures;
  }
}

void TestSparse(Context* gpu, std::mt19937* rng) {
  for (int table_rows : {1, 7, 129, 4097}) {
    for (int cols : {1, 7, 33, 129}) {
      for (int count : {1, 7, 129, 4097}) {
        auto table = Random(size_t(table_rows) * cols, rng);
        std::vector<int32_t> indices(count);
        for (int32_t& i : indices) i = int32_t((*rng)() % std::min(table_rows, 5 + count / 3));
        auto values = Random(size_t(count) * cols, rng);
        Buffer<float> dtable(gpu, table), dout(gpu, values.size()), dvalues(gpu, values);
        Buffer<int32_t> dindices(gpu, indices);
        dout.Poison();
        Check(gpu->Gather(count, cols, dtable.data, table_rows, dindices.data, dout.data),
              "Gather");
        std::vector<double> want(values.size());
        for (size_t i = 0; i < want.size(); ++i) {
          want[i] = table[size_t(indices[i / cols]) * cols + i % cols];
        }
        const std::string shape = " table " + std::to_string(table_rows) + "x" +
                                  std::to_string(cols) + " count " + std::to_string(count);
        Expect("Gather" + shape, dout.Get(), want, {}, 0.0);
        Check(gpu->ScatterAdd(count, cols, dvalues.data, dindices.data, table_rows, dtable.data),
              "ScatterAdd");
        std::vector<double> sum = ToDouble(table), magnitude(table.size());
        for (size_t i = 0; i < table.size(); ++i) magnitude[i] = std::fabs(table[i]);
        for (size_t i = 0; i < values.size(); ++i) {
          const size_t at = size_t(indices[i / cols]) * cols + i % cols;
          sum[at] += values[i];
          magnitude[at] += std::fabs(values[i]);
        }
        Expect("ScatterAdd" + shape, dtable.Get(), sum, magnitude);
      }
    }
  }
}

// One dense MLP with its device buffers, stepped through the Context in the
// order the worker's model (worker/model/mlp.cc) uses.
struct Mlp {
  std::vector<int> widths;  // input, hidden..., classes
  int batch;
  Context* gpu;
  std::vector<std::unique_ptr<Buffer<float>>> w, b, gw, gb, out, delta;
  std::unique_ptr<Buffer<float>> x;
  std::unique_ptr<Buffer<int32_t>> labels;

  Mlp(Context* context, std::vector<int> layer_widths, int batch_size, std::mt19937* rng)
      : widths(std::move(layer_widths)), batch(batch_size), gpu(context) {
    for (size_t l = 0; l + 1 < widths.size(); ++l) {
      const size_t fan_in = widths[l], fan_out = widths[l + 1];
      const float scale = std::sqrt(6.0f / (fan_in + fan_out));
      w.push_back(std::make_unique<Buffer<float>>(gpu, Random(fan_in * fan_out, rng, scale)));
      b.push_back(std::make_unique<Buffer<float>>(gpu, Random(fan_out, rng, 0.1f)));
      gw.push_back(std::make_unique<Buffer<float>>(gpu, fan_in * fan_out));
      gb.push_back(std::make_unique<Buffer<float>>(gpu, fan_out));
      out.push_back(std::make_unique<Buffer<float>>(gpu, size_t(batch) * fan_out));
      delta.push_back(std::make_unique<Buffer<float>>(gpu, size_t(batch) * fan_out));
      for (auto* buffer : {gw.back().get(), gb.back().get(), out.back().get(),
                           delta.back().get()}) {
        buffer->Poison();
      }
    }
    x = std::make_unique<Buffer<float>>(gpu, size_t(batch) * widths[0]);
    labels = std::make_unique<Buffer<int32_t>>(gpu, size_t(batch));
  }

  // Uploads the minibatch, runs forward, loss and backward; returns the loss.
  double Step(const std::vector<float>& host_x, const std::vector<int32_t>& host_labels,
              int64_t* correct) {
    Check(gpu->CopyToDevice(host_x.data(), x->data, host_x.size() * sizeof(float)), "upload x");
    Check(gpu->CopyToDevice(host_labels.data(), labels->data, host_labels.size() * 4),
          "upload labels");
    const size_t layers = w.size();
    const float* input = x->data;
    for (size_t l = 0; l < layers; ++l) {
      Check(gpu->Gemm(false, false, batch, widths[l + 1], widths[l], 1, input, w[l]->data, 0,
                      out[l]->data),
            "forward Gemm");
      Check(gpu->BiasActivation(batch, widths[l + 1], b[l]->data, l + 1 < layers, out[l]->data),
            "BiasActivation");
      input = out[l]->data;
    }
    double loss = 0;
    Check(gpu->SoftmaxCrossEntropy(batch, widths.back(), out.back()->data, labels->data,
                                   delta.back()->data, &loss, correct),
          "SoftmaxCrossEntropy");
    for (size_t l = layers; l-- > 0;) {
      const float* layer_in = l == 0 ? x->data : out[l - 1]->data;
      Check(gpu->Gemm(true, false, widths[l], widths[l + 1], batch, 1, layer_in,
                      delta[l]->data, 0, gw[l]->data),
            "weight-gradient Gemm");
      Check(gpu->ColumnSum(batch, widths[l + 1], delta[l]->data, gb[l]->data), "ColumnSum");
      if (l == 0) break;
      Check(gpu->Gemm(false, true, batch, widths[l], widths[l + 1], 1, delta[l]->data,
                      w[l]->data, 0, delta[l - 1]->data),
            "input-gradient Gemm");
      Check(gpu->ReluBackward(size_t(batch) * widths[l], out[l - 1]->data, delta[l - 1]->data),
            "ReluBackward");
    }
    return loss;
  }

  double Flops() const {  // 2 flops per multiply-add, three GEMMs per layer (two for the first)
    double f = 0;
    for (size_t l = 0; l + 1 < widths.size(); ++l) {
      f += 2.0 * batch * widths[l] * widths[l + 1] * (l == 0 ? 2 : 3);
    }
    return f;
  }
};

// The whole step against a host reference in double.
void TestTrainingStep(Context* gpu, std::mt19937* rng) {
  for (int batch : kRows) {
    const std::vector<int> widths = {33, 129, 10};
    Mlp mlp(gpu, widths, batch, rng);
    auto x = Random(size_t(batch) * widths[0], rng);
    std::vector<int32_t> labels(batch);
    for (int32_t& l : labels) l = int32_t((*rng)() % widths[2]);
    int64_t correct = -1;
    const double loss = mlp.Step(x, labels, &correct);

    auto w1 = mlp.w[0]->Get(), b1 = mlp.b[0]->Get(), w2 = mlp.w[1]->Get(), b2 = mlp.b[1]->Get();
    const int in = widths[0], hid = widths[1], out = widths[2];
    std::vector<double> h(size_t(batch) * hid), mag_h(h.size());
    std::vector<float> logits(size_t(batch) * out);
    for (int r = 0; r < batch; ++r) {
      for (int j = 0; j < hid; ++j) {
        double s = b1[j];
        for (int p = 0; p < in; ++p) s += double(x[size_t(r) * in + p]) * w1[size_t(p) * hid + j];
        h[size_t(r) * hid + j] = std::max(s, 0.0);
      }
      for (int j = 0; j < out; ++j) {
        double s = b2[j];
        for (int p = 0; p < hid; ++p) s += h[size_t(r) * hid + p] * w2[size_t(p) * out + j];
        logits[size_t(r) * out + j] = float(s);
      }
    }
    std::vector<double> dlogits;
    int64_t want_correct = 0;
    const double want = ReferenceLoss(batch, out, logits, labels, &dlogits, &want_correct);
    std::vector<double> gw2(size_t(hid) * out, 0), gb2(out, 0), dh(h.size(), 0);
    std::vector<double> gw1(size_t(in) * hid, 0), gb1(hid, 0);
    for (int r = 0; r < batch; ++r) {
      for (int j = 0; j < out; ++j) {
        const double d = dlogits[size_t(r) * out + j];
        gb2[j] += d;
        for (int p = 0; p < hid; ++p) {
          gw2[size_t(p) * out + j] += h[size_t(r) * hid + p] * d;
          dh[size_t(r) * hid + p] += d * w2[size_t(p) * out + j];
        }
      }
      for (int p = 0; p < hid; ++p) {
        double& d = dh[size_t(r) * hid + p];
        if (!(h[size_t(r) * hid + p] > 0)) d = 0;
        gb1[p] += d;
        for (int q = 0; q < in; ++q) gw1[size_t(q) * hid + p] += x[size_t(r) * in + q] * d;
      }
    }
    const std::string shape = " batch " + std::to_string(batch);
    ++checks;
    if (!(std::fabs(loss - want) <= 1e-5 * std::fabs(want)) || correct != want_correct) {
      std::printf("FAIL training step%s: loss %.9g correct %lld, reference %.9g %lld\n",
                  shape.c_str(), loss, (long long)correct, want, (long long)want_correct);
      ++failures;
    }
    // Gradients: relative to the largest element of the same tensor.
    auto normwise = [](const std::vector<double>& v) {
      double m = 0;
      for (double x : v) m = std::max(m, std::fabs(x));
      return std::vector<double>(v.size(), m);
    };
    Expect("training step dW1" + shape, mlp.gw[0]->Get(), gw1, normwise(gw1));
    Expect("training step db1" + shape, mlp.gb[0]->Get(), gb1, normwise(gb1));
    Expect("training step dW2" + shape, mlp.gw[1]->Get(), gw2, normwise(gw2));
    Expect("training step db2" + shape, mlp.gb[1]->Get(), gb2, normwise(gb2));
  }
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Times `body` (which must leave the stream synchronised or sync itself) for
// at least `min_seconds` after a warm-up; returns seconds per call.
template <typename Body>
double Time(Context* gpu, Body body, double min_seconds = 0.4) {
  for (int i = 0; i < 5; ++i) body();
  Check(gpu->Synchronize(), "Synchronize");
  int iterations = 0;
  const auto start = std::chrono::steady_clock::now();
  do {
    body();
    ++iterations;
  } while (iterations < 10 || Seconds(start) < min_seconds);
  Check(gpu->Synchronize(), "Synchronize");
  return Seconds(start) / iterations;
}

void Bench(Context* gpu, const char* json_path) {
  std::mt19937 rng(99);
  std::string json = "{\n  \"device\": \"" + gpu->info().name + "\",\n  \"steps\": [\n";
  // cuBLAS's own float32 rate on a large square GEMM: the ceiling to compare with.
  double peak = 0;
  {
    const int n = 8192;
    Buffer<float> a(gpu, Random(size_t(n) * n, &rng)), b(gpu, Random(size_t(n) * n, &rng)),
        c(gpu, size_t(n) * n);
    const double t = Time(gpu, [&] {
      Check(gpu->Gemm(false, false, n, n, n, 1, a.data, b.data, 0, c.data), "Gemm");
    }, 1.0);
    peak = 2.0 * n * n * n / t;
  }
  std::printf("cuBLAS sgemm 8192^3: %.1f TFLOP/s (the float32 ceiling below)\n", peak / 1e12);
  std::printf("%-22s %6s %14s %10s %12s %8s\n", "model", "batch", "samples/s", "ms/step",
              "GEMM TFLOP/s", "of peak");
  const std::vector<std::vector<int>> models = {{784, 256, 10}, {784, 4096, 4096, 10}};
  bool first = true;
  for (const auto& widths : models) {
    std::string name;
    for (int w : widths) name += (name.empty() ? "" : "-") + std::to_string(w);
    for (int batch : {64, 256, 4096}) {
      Mlp mlp(gpu, widths, batch, &rng);
      auto x = Random(size_t(batch) * widths[0], &rng);
      std::vector<int32_t> labels(batch);
      for (int32_t& l : labels) l = int32_t(rng() % widths.back());
      int64_t correct;
      // Step() ends with a host read of the loss, as the worker's step does.
      const double t = Time(gpu, [&] { mlp.Step(x, labels, &correct); });
      const double rate = batch / t, tflops = mlp.Flops() / t / 1e12;
      std::printf("%-22s %6d %14.0f %10.3f %12.2f %7.0f%%\n", name.c_str(), batch, rate,
                  t * 1e3, tflops, 100 * tflops * 1e12 / peak);
      char line[256];
      std::snprintf(line, sizeof(line),
                    "%s    {\"model\": \"%s\", \"batch\": %d, \"samples_per_s\": %.1f, "
                    "\"ms_per_step\": %.4f, \"gemm_tflops\": %.3f}",
                    first ? "" : ",\n", name.c_str(), batch, rate, t * 1e3, tflops);
      json += line;
      first = false;
    }
  }
  char tail[128];
  std::snprintf(tail, sizeof(tail), "\n  ],\n  \"cublas_peak_tflops\": %.3f\n}\n", peak / 1e12);
  json += tail;
  if (json_path != nullptr) {
    if (FILE* f = std::fopen(json_path, "w")) {
      std::fputs(json.c_str(), f);
      std::fclose(f);
    } else {
      std::printf("cannot write %s\n", json_path);
    }
  }
}

}  // namespace
}  // namespace petrel::kernels::cuda

int main(int argc, char** argv) {
  using namespace petrel::kernels::cuda;
  bool bench = false;
  const char* json = nullptr;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--bench") == 0) {
      bench = true;
    } else if (std::strncmp(argv[i], "--json=", 7) == 0) {
      json = argv[i] + 7;
    } else {
      std::printf("usage: %s [--bench] [--json=FILE]\n", argv[0]);
      return 2;
    }
  }
  int count = 0;
  const Result counted = DeviceCount(&count);
  if (!counted.ok() || count == 0) {
    std::printf("SKIP: no CUDA device: %s\n",
                counted.ok() ? "none visible" : counted.ToString().c_str());
    return 0;
  }
  std::unique_ptr<Context> gpu, tf32;
  Check(Context::Create({}, &gpu), "Context::Create");
  Context::Options tf32_options;
  tf32_options.allow_tf32 = true;
  Check(Context::Create(tf32_options, &tf32), "Context::Create (TF32)");
  const DeviceInfo& info = gpu->info();
  std::printf("device: %s, %.1f GiB, sm_%d%d, %d SMs, CUDA runtime %d, cuBLAS %d\n",
              info.name.c_str(), double(info.total_memory) / (1u << 30), info.major, info.minor,
              info.multiprocessors, info.runtime_version, info.cublas_version);

  std::mt19937 rng(2026);
  const auto start = std::chrono::steady_clock::now();
  TestGemm(gpu.get(), &rng, false);
  TestGemm(tf32.get(), &rng, true);
  TestElementwise(gpu.get(), &rng);
  TestSoftmax(gpu.get(), &rng);
  TestSparse(gpu.get(), &rng);
  TestTrainingStep(gpu.get(), &rng);
  std::printf("parity: %s, %d of %d checks failed (%.1f s)\n", failures == 0 ? "PASS" : "FAIL",
              failures, checks, Seconds(start));
  if (bench) Bench(gpu.get(), json);
  return failures == 0 ? 0 : 1;
}

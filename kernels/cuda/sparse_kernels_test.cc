// The sparse gather / scatter-add kernels against a naive host loop, including
// duplicate and out-of-range indices. Without a GPU it prints
// "SKIPPED: why" and exits 0; tools/test counts it as skipped.
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/cuda_backend.h"

namespace petrel::kernels {
namespace {

int failures = 0;
#define EXPECT(cond, ...)                                 \
  do {                                                    \
    if (!(cond)) {                                        \
      ++failures;                                         \
      std::printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      std::printf(__VA_ARGS__);                           \
      std::printf("\n");                                  \
    }                                                     \
  } while (0)

template <typename T>
DeviceArray<T> Upload(CudaBackend& gpu, const std::vector<T>& host) {
  absl::StatusOr<DeviceArray<T>> array;
  if constexpr (std::is_same_v<T, float>) {
    array = gpu.AllocateFloats(host.size());
  } else {
    array = gpu.AllocateInts(host.size());
  }
  if (!array.ok()) {
    std::printf("allocation failed: %s\n", std::string(array.status().message()).c_str());
    std::exit(1);
  }
  (void)gpu.CopyToDevice(absl::MakeConstSpan(host), array->data());
  return std::move(*array);
}

std::vector<float> Download(CudaBackend& gpu, const DeviceArray<float>& array) {
  std::vector<float> host(array.size());
  absl::Status status = gpu.CopyToHost(array.data(), absl::MakeSpan(host));
  EXPECT(status.ok(), "%s", std::string(status.message()).c_str());
  return host;
}

void Run(CudaBackend& gpu) {
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1, 1);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (int table_rows : {1, 7, 129, 4097}) {
    for (int cols : {1, 7, 33, 129}) {
      for (int count : {1, 7, 129, 4097}) {
        std::vector<float> table(static_cast<size_t>(table_rows) * cols);
        for (float& v : table) v = dist(rng);
        std::vector<int32_t> indices(count);
        // Few distinct rows, so scatter-add sees many duplicates.
        for (int32_t& i : indices) i = static_cast<int32_t>(rng() % std::min(table_rows, 5 + count / 3));
        std::vector<float> values(static_cast<size_t>(count) * cols);
        for (float& v : values) v = dist(rng);

        auto dtable = Upload(gpu, table);
        auto dindices = Upload(gpu, indices);
        auto dout = Upload(gpu, std::vector<float>(values.size(), nan));
        absl::Status s = gpu.Gather(count, cols, dtable.data(), table_rows, dindices.data(),
                                    dout.data());
        EXPECT(s.ok(), "%s", std::string(s.message()).c_str());
        std::vector<float> out = Download(gpu, dout);
        for (size_t i = 0; i < out.size(); ++i) {
          const float want = table[static_cast<size_t>(indices[i / cols]) * cols + i % cols];
          EXPECT(out[i] == want, "gather rows=%d cols=%d count=%d at %zu: %g != %g", table_rows,
                 cols, count, i, out[i], want);
          if (out[i] != want) break;
        }

        auto dvalues = Upload(gpu, values);
        s = gpu.ScatterAdd(count, cols, dvalues.data(), dindices.data(), table_rows,
                           dtable.data());
        EXPECT(s.ok(), "%s", std::string(s.message()).c_str());
        std::vector<double> want(table.begin(), table.end());
        std::vector<double> magnitude(table.size());
        for (size_t i = 0; i < table.size(); ++i) magnitude[i] = std::fabs(table[i]);
        for (size_t i = 0; i < values.size(); ++i) {
          const size_t at = static_cast<size_t>(indices[i / cols]) * cols + i % cols;
          want[at] += values[i];
          magnitude[at] += std::fabs(values[i]);
        }
        std::vector<float> got = Download(gpu, dtable);
        for (size_t i = 0; i < got.size(); ++i) {
          const double bound = 1e-5 * std::max(std::fabs(want[i]), magnitude[i]);
          EXPECT(std::fabs(got[i] - want[i]) <= bound,
                 "scatter-add rows=%d cols=%d count=%d at %zu: %g != %g", table_rows, cols,
                 count, i, got[i], want[i]);
          if (!(std::fabs(got[i] - want[i]) <= bound)) break;
        }
      }
    }
  }
  // Out-of-range indices are reported, naming the first bad row.
  auto dtable = Upload(gpu, std::vector<float>(4 * 3, 1.0f));
  auto dindices = Upload(gpu, std::vector<int32_t>{0, 3, 4, -1});
  auto dout = Upload(gpu, std::vector<float>(4 * 3, 0.0f));
  absl::Status s = gpu.Gather(4, 3, dtable.data(), 4, dindices.data(), dout.data());
  EXPECT(s.code() == absl::StatusCode::kInvalidArgument, "%s", s.ToString().c_str());
  EXPECT(std::string(s.message()).find("row 2 has index 4") != std::string::npos, "%s",
         s.ToString().c_str());
  s = gpu.ScatterAdd(4, 3, dout.data(), dindices.data(), 4, dtable.data());
  EXPECT(s.code() == absl::StatusCode::kInvalidArgument, "%s", s.ToString().c_str());
}

}  // namespace
}  // namespace petrel::kernels

int main() {
  using petrel::kernels::CudaBackend;
  absl::StatusOr<int> count = CudaBackend::DeviceCount();
  if (!count.ok() || *count == 0) {
    std::printf("SKIPPED: no CUDA device: %s\n",
                count.ok() ? "none visible" : std::string(count.status().message()).c_str());
    return 0;
  }
  auto gpu = CudaBackend::Create({});
  if (!gpu.ok()) {
    std::printf("SKIPPED: no CUDA device: %s\n", std::string(gpu.status().message()).c_str());
    return 0;
  }
  std::printf("running on %s\n", (*gpu)->Description().c_str());
  petrel::kernels::Run(**gpu);
  std::printf("%s (%d failures)\n", petrel::kernels::failures == 0 ? "PASS" : "FAIL",
              petrel::kernels::failures);
  return petrel::kernels::failures == 0 ? 0 : 1;
}

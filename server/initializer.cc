#include "server/initializer.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/jobspec/model_tables.h"
#include "common/status_macros.h"

namespace petrel::server {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t HashName(const std::string& name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Uniform in (0, 1): 24 random bits, never exactly 0 (log() below).
double Uniform(uint64_t bits) { return ((bits >> 40) + 0.5) / 16777216.0; }

}  // namespace

absl::Status InitializeRange(const DenseTable& table, uint64_t seed, int64_t begin,
                             absl::Span<float> out) {
  const uint64_t stream = SplitMix64(seed ^ HashName(table.name()));
  const std::string& kind = table.initializer();
  if (kind == "zeros") {
    for (float& v : out) v = 0.0f;
  } else if (kind == "glorot_uniform" || kind.empty()) {
    const double fan_in = table.shape_size() >= 2 ? table.shape(0) : TableSize(table);
    const double fan_out = table.shape_size() >= 2 ? table.shape(1) : TableSize(table);
    const double limit = std::sqrt(6.0 / (fan_in + fan_out));
    for (size_t i = 0; i < out.size(); ++i) {
      const double u = Uniform(SplitMix64(stream + begin + i));
      out[i] = static_cast<float>((2.0 * u - 1.0) * limit);
    }
  } else if (kind == "normal") {
    const double stddev = table.init_scale() > 0 ? table.init_scale() : 0.01;
    for (size_t i = 0; i < out.size(); ++i) {
      // Box-Muller from two independent draws of the same element.
      const uint64_t bits = SplitMix64(stream + begin + i);
      const double u1 = Uniform(bits), u2 = Uniform(SplitMix64(bits));
      out[i] = static_cast<float>(stddev * std::sqrt(-2.0 * std::log(u1)) *
                                  std::cos(6.283185307179586 * u2));
    }
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("table ", table.name(), ": unknown initializer \"", kind,
                     "\" (known: zeros, glorot_uniform, normal)"));
  }
  return absl::OkStatus();
}

SparseRowInitializer::SparseRowInitializer(const SparseTable& table, uint64_t seed)
    : stream_(SplitMix64(seed ^ HashName(table.name()))),
      scale_(table.init_scale() > 0 ? table.init_scale() : 0.01) {
  const std::string& kind = table.initializer();
  if (kind == "zeros" || kind.empty()) {
    kind_ = Kind::kZeros;
  } else if (kind == "uniform") {
    kind_ = Kind::kUniform;
  } else if (kind == "normal") {
    kind_ = Kind::kNormal;
  } else {
    status_ = absl::InvalidArgumentError(
        absl::StrCat("sparse table ", table.name(), ": unknown initializer \"", kind,
                     "\" (known: zeros, uniform, normal)"));
  }
}

void SparseRowInitializer::Fill(uint64_t key, absl::Span<float> out) const {
  if (kind_ == Kind::kZeros) {
    std::fill(out.begin(), out.end(), 0.0f);
    return;
  }
  const uint64_t stream = SplitMix64(stream_ ^ key);
  for (size_t j = 0; j < out.size(); ++j) {
    const uint64_t bits = SplitMix64(stream + j);
    if (kind_ == Kind::kUniform) {
      out[j] = static_cast<float>((2.0 * Uniform(bits) - 1.0) * scale_);
    } else {
      out[j] = static_cast<float>(scale_ * std::sqrt(-2.0 * std::log(Uniform(bits))) *
                                  std::cos(6.283185307179586 * Uniform(SplitMix64(bits))));
    }
  }
}

absl::Status InitializeSparseRow(const SparseTable& table, uint64_t seed, uint64_t key,
                                 absl::Span<float> out) {
  SparseRowInitializer initializer(table, seed);
  PETREL_RETURN_IF_ERROR(initializer.status());
  initializer.Fill(key, out);
  return absl::OkStatus();
}

}  // namespace petrel::server

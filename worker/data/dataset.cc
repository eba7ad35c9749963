#include "worker/data/dataset.h"

#include <algorithm>
#include <limits>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "worker/data/idx_reader.h"

namespace petrel::data {
namespace {

// SplitMix64's finaliser: spreads nearby inputs (epoch 1, 2, ...) far apart.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Uniform in [0, bound], by rejection so that no value is favoured.
uint64_t UniformUpTo(std::mt19937_64& rng, uint64_t bound) {
  if (bound == std::numeric_limits<uint64_t>::max()) return rng();
  const uint64_t range = bound + 1;
  const uint64_t limit = std::numeric_limits<uint64_t>::max() -
                         std::numeric_limits<uint64_t>::max() % range;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % range;
}

}  // namespace

absl::StatusOr<ShardRange> ShardOf(int64_t n, int shard, int num_shards) {
  if (num_shards < 1 || shard < 0 || shard >= num_shards) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shard ", shard, " of ", num_shards, " is out of range: need 0 <= shard < num_shards"));
  }
  return ShardRange{n * shard / num_shards, n * (shard + 1) / num_shards};
}

absl::StatusOr<Dataset> LoadIdxDataset(const std::string& images_path,
                                       const std::string& labels_path, int shard,
                                       int num_shards, const DataPartition& partition) {
  // Check the cheap argument before reading tens of megabytes.
  PETREL_RETURN_IF_ERROR(ShardOf(0, shard, num_shards).status());
  PETREL_ASSIGN_OR_RETURN(IdxArray images, ReadIdxFile(images_path));
  PETREL_ASSIGN_OR_RETURN(IdxArray labels, ReadIdxFile(labels_path));
  if (images.dims.size() < 2) {
    return absl::InvalidArgumentError(absl::StrCat(
        images_path, ": images need at least 2 dimensions, got ", images.dims.size()));
  }
  if (labels.dims.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        labels_path, ": labels need exactly 1 dimension, got ", labels.dims.size()));
  }
  const int64_t n = images.dims[0];
  if (labels.dims[0] != n) {
    return absl::InvalidArgumentError(absl::StrCat(images_path, " holds ", n, " images but ",
                                                   labels_path, " holds ", labels.dims[0],
                                                   " labels"));
  }
  int64_t feature_dim = 1;
  for (size_t i = 1; i < images.dims.size(); ++i) feature_dim *= images.dims[i];
  if (feature_dim > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(
        absl::StrCat(images_path, ": ", feature_dim, " features per example is too many"));
  }

  // The examples this shard holds, as indices into the files.
  std::vector<int64_t> indices;
  if (partition.by_label) {
    if (partition.shards_per_worker < 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a by_label partition needs at least 1 shard per worker, got ",
          partition.shards_per_worker));
    }
    const std::vector<int32_t> all_labels(labels.data.begin(), labels.data.end());
    indices = LabelShardIndices(all_labels, shard, num_shards, partition.shards_per_worker);
  } else {
    PETREL_ASSIGN_OR_RETURN(ShardRange range, ShardOf(n, shard, num_shards));
    for (int64_t i = range.begin; i < range.end; ++i) indices.push_back(i);
  }
  Dataset dataset;
  dataset.num_examples = static_cast<int64_t>(indices.size());
  dataset.feature_dim = static_cast<int>(feature_dim);
  dataset.features.resize(dataset.num_examples * feature_dim);
  dataset.labels.resize(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    const uint8_t* pixels = images.data.data() + indices[i] * feature_dim;
    float* out = dataset.features.data() + i * feature_dim;
    for (int64_t j = 0; j < feature_dim; ++j) out[j] = pixels[j] / 255.0f;
    dataset.labels[i] = labels.data[indices[i]];
  }
  return dataset;
}

std::vector<int64_t> LabelShardIndices(absl::Span<const int32_t> labels, int shard,
                                       int num_shards, int shards_per_worker) {
  std::vector<int64_t> sorted(labels.size());
  for (size_t i = 0; i < sorted.size(); ++i) sorted[i] = static_cast<int64_t>(i);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [&](int64_t a, int64_t b) { return labels[a] < labels[b]; });
  const int64_t n = static_cast<int64_t>(sorted.size());
  const int64_t shards = static_cast<int64_t>(num_shards) * shards_per_worker;
  std::vector<int64_t> mine;
  for (int64_t s = shard; s < shards; s += num_shards) {
    for (int64_t i = n * s / shards; i < n * (s + 1) / shards; ++i) mine.push_back(sorted[i]);
  }
  return mine;
}

std::vector<int64_t> ShuffledOrder(int64_t count, uint64_t seed, int64_t epoch, int shard) {
  std::vector<int64_t> order(std::max<int64_t>(count, 0));
  for (int64_t i = 0; i < count; ++i) order[i] = i;
  std::mt19937_64 rng(Mix(Mix(Mix(seed) ^ static_cast<uint64_t>(epoch)) ^
                          static_cast<uint64_t>(shard)));
  for (int64_t i = count - 1; i > 0; --i) {
    std::swap(order[i], order[UniformUpTo(rng, static_cast<uint64_t>(i))]);
  }
  return order;
}

absl::Status GatherBatch(const Dataset& dataset, absl::Span<const int64_t> indices,
                         absl::Span<float> features, absl::Span<int32_t> labels) {
  const size_t dim = dataset.feature_dim;
  if (features.size() < indices.size() * dim || labels.size() < indices.size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "GatherBatch: buffers hold ", features.size(), " features and ", labels.size(),
        " labels; ", indices.size(), " examples need ", indices.size() * dim, " and ",
        indices.size()));
  }
  for (size_t i = 0; i < indices.size(); ++i) {
    const int64_t index = indices[i];
    if (index < 0 || index >= dataset.num_examples) {
      return absl::OutOfRangeError(absl::StrCat("GatherBatch: example ", index,
                                                " is outside [0, ", dataset.num_examples, ")"));
    }
    std::copy_n(dataset.features.data() + index * dim, dim, features.data() + i * dim);
    labels[i] = dataset.labels[index];
  }
  return absl::OkStatus();
}

}  // namespace petrel::data

// A worker's shard of a labelled data set, held in memory as floats, and the
// per-epoch order in which it is visited.
#ifndef PETREL_WORKER_DATA_DATASET_H_
#define PETREL_WORKER_DATA_DATASET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace petrel::data {

struct Dataset {
  int64_t num_examples = 0;
  int feature_dim = 0;
  std::vector<float> features;  // num_examples x feature_dim, row-major, pixel / 255
  std::vector<int32_t> labels;  // num_examples
};

// The contiguous block [n * shard / num_shards, n * (shard + 1) / num_shards)
// of n examples that worker `shard` of `num_shards` owns. Every example is in
// exactly one shard.
struct ShardRange {
  int64_t begin = 0;
  int64_t end = 0;
};
absl::StatusOr<ShardRange> ShardOf(int64_t n, int shard, int num_shards);

// How the training examples are dealt to the workers (job.proto DataSpec).
//   iid:      worker r of n reads the r-th contiguous block (ShardOf).
//   by_label: non-IID, as in McMahan et al. 2017: the examples, stably
//             sorted by label, are cut into n * shards_per_worker equal
//             shards, and worker r holds shards r, r + n, r + 2n, ... With
//             balanced classes and n * shards_per_worker == classes each
//             worker holds exactly shards_per_worker classes; otherwise a
//             shard may straddle two classes (4 workers x 2 shards over
//             Fashion-MNIST's 10 classes: each worker holds two large and
//             two small classes). Every example is in exactly one shard.
struct DataPartition {
  bool by_label = false;
  int shards_per_worker = 1;
};

// Loads shard `shard` of `num_shards` from an IDX image file (N x d1 x ...)
// and an IDX label file (N). Either file may be gzip-compressed.
absl::StatusOr<Dataset> LoadIdxDataset(const std::string& images_path,
                                       const std::string& labels_path, int shard,
                                       int num_shards, const DataPartition& partition = {});

// The indices (into the file) of worker `shard`'s examples under a by_label
// partition of `labels`, in file order within each of its shards.
std::vector<int64_t> LabelShardIndices(absl::Span<const int32_t> labels, int shard,
                                       int num_shards, int shards_per_worker);

// A permutation of [0, count): the order in which a shard visits its examples
// in `epoch`. It depends only on (seed, epoch, shard), and uses its own
// Fisher-Yates shuffle rather than std::shuffle, whose output differs between
// standard libraries, so runs reproduce on any machine.
std::vector<int64_t> ShuffledOrder(int64_t count, uint64_t seed, int64_t epoch, int shard);

// Copies the examples at `indices` into caller-owned buffers of
// indices.size() * feature_dim features and indices.size() labels.
absl::Status GatherBatch(const Dataset& dataset, absl::Span<const int64_t> indices,
                         absl::Span<float> features, absl::Span<int32_t> labels);

}  // namespace petrel::data

#endif  // PETREL_WORKER_DATA_DATASET_H_

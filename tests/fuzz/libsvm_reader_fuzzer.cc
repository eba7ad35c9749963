// Fuzzes the libsvm reader (worker/data/libsvm_reader.h) through a file, raw
// or gzip-compressed, with a shard of a few. The first input byte picks the
// mode: bit 0 gzip-compresses the rest (see fuzz_util.h's Gzip), bits 1-2
// the number of shards (1-4), bits 3-4 the shard.
// Invariants: the CSR arrays agree with each other; every value is finite and
// every label a class >= 0; each example's keys are distinct; errors use the
// codes the header lists.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tests/fuzz/fuzz_util.h"
#include "worker/data/libsvm_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static petrel::fuzz::ScratchFile* const file = new petrel::fuzz::ScratchFile();
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const int num_shards = 1 + ((mode >> 1) & 3);
  const int shard = ((mode >> 3) & 3) % num_shards;
  ++data;
  --size;
  const std::string* path;
  if (mode & 1) {
    const std::string gz = petrel::fuzz::Gzip(data, size);
    path = &file->Write(reinterpret_cast<const uint8_t*>(gz.data()), gz.size());
  } else {
    path = &file->Write(data, size);
  }
  absl::StatusOr<petrel::data::SparseDataset> dataset =
      petrel::data::LoadLibsvm(*path, shard, num_shards);
  if (dataset.ok()) {
    const petrel::data::SparseDataset& d = *dataset;
    PETREL_FUZZ_CHECK(d.offsets.size() == d.labels.size() + 1);
    PETREL_FUZZ_CHECK(d.offsets.front() == 0);
    PETREL_FUZZ_CHECK(d.keys.size() == d.values.size());
    PETREL_FUZZ_CHECK(d.offsets.back() == static_cast<int64_t>(d.keys.size()));
    for (int32_t label : d.labels) PETREL_FUZZ_CHECK(label >= 0);
    for (float value : d.values) PETREL_FUZZ_CHECK(std::isfinite(value));
    for (int64_t i = 0; i < d.num_examples(); ++i) {
      PETREL_FUZZ_CHECK(d.offsets[i] <= d.offsets[i + 1]);
      std::vector<uint64_t> keys(d.keys.begin() + d.offsets[i], d.keys.begin() + d.offsets[i + 1]);
      std::sort(keys.begin(), keys.end());
      PETREL_FUZZ_CHECK(std::adjacent_find(keys.begin(), keys.end()) == keys.end());
    }
  } else {
    const absl::StatusCode code = dataset.status().code();
    PETREL_FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                      code == absl::StatusCode::kDataLoss);
  }
  return 0;
}

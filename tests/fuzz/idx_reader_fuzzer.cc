// Fuzzes the IDX reader (worker/data/idx_reader.h) through a file, raw or
// gzip-compressed. The first input byte picks the mode: odd, the rest is
// gzip-compressed before it is written, so that the fuzzer explores the IDX
// layout behind zlib too; even, the rest is written as it is (raw IDX, or
// gzip streams the fuzzer damages itself).
// Invariants: an array read has product(dims) bytes; errors use the codes
// the header lists.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "tests/fuzz/fuzz_util.h"
#include "worker/data/idx_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static petrel::fuzz::ScratchFile* const file = new petrel::fuzz::ScratchFile();
  if (size == 0) return 0;
  const bool compress = data[0] & 1;
  ++data;
  --size;
  const std::string* path;
  if (compress) {
    const std::string gz = petrel::fuzz::Gzip(data, size);
    path = &file->Write(reinterpret_cast<const uint8_t*>(gz.data()), gz.size());
  } else {
    path = &file->Write(data, size);
  }
  absl::StatusOr<petrel::data::IdxArray> array = petrel::data::ReadIdxFile(*path);
  if (array.ok()) {
    PETREL_FUZZ_CHECK(!array->dims.empty());
    // A zero dimension makes the array empty, however large the others.
    int64_t elements = 1;
    for (int64_t dim : array->dims) PETREL_FUZZ_CHECK(dim >= 0);
    for (int64_t dim : array->dims) {
      if (dim == 0) elements = 0;
    }
    for (int64_t dim : array->dims) {
      if (elements != 0) elements *= dim;  // bounded: the data was read
    }
    PETREL_FUZZ_CHECK(static_cast<int64_t>(array->data.size()) == elements);
  } else {
    const absl::StatusCode code = array.status().code();
    PETREL_FUZZ_CHECK(code == absl::StatusCode::kInvalidArgument ||
                      code == absl::StatusCode::kDataLoss);
  }
  return 0;
}

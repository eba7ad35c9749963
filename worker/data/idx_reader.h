// Reads IDX files (the MNIST / Fashion-MNIST format), gzip-compressed or raw.
//
// Layout: magic 0x00 0x00 <type> <ndims>, then ndims big-endian uint32 sizes,
// then the elements in row-major order. Only type 0x08 (unsigned byte) is
// supported: it is all the image and label sets use.
#ifndef PETREL_WORKER_DATA_IDX_READER_H_
#define PETREL_WORKER_DATA_IDX_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace petrel::data {

struct IdxArray {
  std::vector<int64_t> dims;  // e.g. {60000, 28, 28}
  std::vector<uint8_t> data;  // product(dims) elements, row-major
};

// Reads the whole file; gzip is detected from its content, not its name.
// Errors name the path: NOT_FOUND when it does not exist, INVALID_ARGUMENT
// for a bad header, DATA_LOSS when it is truncated, corrupt or overlong.
absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path);

}  // namespace petrel::data

#endif  // PETREL_WORKER_DATA_IDX_READER_H_

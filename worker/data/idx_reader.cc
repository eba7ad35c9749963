#include "worker/data/idx_reader.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace petrel::data {
namespace {

constexpr uint8_t kUnsignedByte = 0x08;
// Far above any real data set; keeps a corrupt header from asking for
// petabytes before we notice the file is short.
constexpr int64_t kMaxElements = int64_t{1} << 36;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};
using GzFile = std::unique_ptr<gzFile_s, GzCloser>;

// Reads up to `size` bytes; returns how many were read, or an error if zlib
// reports corruption.
absl::StatusOr<int64_t> ReadFully(gzFile file, const std::string& path, uint8_t* out,
                                  int64_t size) {
  int64_t total = 0;
  while (total < size) {
    // gzread takes an unsigned count and returns an int: read in 1 GiB pieces.
    const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(size - total, 1 << 30));
    const int n = gzread(file, out + total, chunk);
    if (n < 0) {
      int errnum = 0;
      const char* message = gzerror(file, &errnum);
      return absl::DataLossError(absl::StrCat(path, ": read failed: ", message));
    }
    if (n == 0) break;
    total += n;
  }
  return total;
}

}  // namespace

absl::StatusOr<IdxArray> ReadIdxFile(const std::string& path) {
  errno = 0;
  GzFile file(gzopen(path.c_str(), "rb"));
  if (file == nullptr) {
    const int err = errno;
    if (err == ENOENT) return absl::NotFoundError(absl::StrCat(path, ": no such file"));
    return absl::UnavailableError(absl::StrCat(path, ": cannot open: ",
                                               err != 0 ? std::strerror(err) : "zlib error"));
  }

  uint8_t header[4];
  absl::StatusOr<int64_t> got = ReadFully(file.get(), path, header, sizeof(header));
  if (!got.ok()) return got.status();
  if (*got < 4) {
    return absl::DataLossError(
        absl::StrCat(path, ": truncated header: expected 4 bytes, got ", *got));
  }
  if (header[0] != 0 || header[1] != 0 || header[2] != kUnsignedByte || header[3] == 0) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: bad IDX magic 0x%02x%02x%02x%02x: expected 0x000008NN (unsigned bytes, "
        "NN >= 1 dimensions)",
        path, header[0], header[1], header[2], header[3]));
  }

  const int ndims = header[3];
  std::vector<uint8_t> raw_dims(4 * ndims);
  got = ReadFully(file.get(), path, raw_dims.data(), raw_dims.size());
  if (!got.ok()) return got.status();
  if (*got < static_cast<int64_t>(raw_dims.size())) {
    return absl::DataLossError(absl::StrCat(path, ": truncated header: expected ",
                                            raw_dims.size(), " bytes of dimensions, got ",
                                            *got));
  }
  IdxArray array;
  int64_t elements = 1;
  for (int i = 0; i < ndims; ++i) {
    const uint8_t* p = &raw_dims[4 * i];
    const int64_t dim = (int64_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
    array.dims.push_back(dim);
    elements = dim == 0 ? 0 : (elements > kMaxElements / dim ? kMaxElements + 1 : elements * dim);
  }
  if (elements > kMaxElements) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": implausible dimensions (more than ", kMaxElements, " elements)"));
  }

  // The array grows as the data arrives, not as the header says: a corrupt
  // header (found by tests/fuzz) would otherwise cost up to kMaxElements
  // bytes of memory before the file is found to be short.
  constexpr int64_t kChunk = int64_t{1} << 24;
  while (static_cast<int64_t>(array.data.size()) < elements) {
    const int64_t have = static_cast<int64_t>(array.data.size());
    const int64_t want = std::min(elements - have, kChunk);
    array.data.resize(have + want);
    got = ReadFully(file.get(), path, array.data.data() + have, want);
    if (!got.ok()) return got.status();
    if (*got < want) {
      return absl::DataLossError(absl::StrCat(path, ": truncated: expected ", elements,
                                              " bytes of data, got ", have + *got));
    }
  }
  uint8_t extra;
  got = ReadFully(file.get(), path, &extra, 1);
  if (!got.ok()) return got.status();
  if (*got != 0) {
    return absl::DataLossError(absl::StrCat(
        path, ": trailing bytes after the ", elements, " bytes its header declares"));
  }
  return array;
}

}  // namespace petrel::data

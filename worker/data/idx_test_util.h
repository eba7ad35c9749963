// Test helpers that write small IDX files, raw or gzip-compressed.
#ifndef PETREL_WORKER_DATA_IDX_TEST_UTIL_H_
#define PETREL_WORKER_DATA_IDX_TEST_UTIL_H_

#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace petrel::data::testing {

// A directory the test may write to: Bazel's TEST_TMPDIR, else /tmp.
inline std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

// Header (magic 0x000008NN and big-endian sizes) followed by `data`.
inline std::vector<uint8_t> IdxBytes(const std::vector<uint32_t>& dims,
                                     const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes = {0, 0, 0x08, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back((d >> shift) & 0xff);
  }
  bytes.insert(bytes.end(), data.begin(), data.end());
  return bytes;
}

// Writes `bytes` to TempDir()/name, gzip-compressed when `gzip`; returns the path.
inline std::string WriteFile(const std::string& name, const std::vector<uint8_t>& bytes,
                             bool gzip) {
  const std::string path = TempDir() + "/" + name;
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    if (!bytes.empty()) gzwrite(f, bytes.data(), bytes.size());
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
  return path;
}

}  // namespace petrel::data::testing

#endif  // PETREL_WORKER_DATA_IDX_TEST_UTIL_H_

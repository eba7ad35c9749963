// Helpers shared by the fuzz targets (tests/fuzz/*_fuzzer.cc): splitting one
// input into several records, and handing an input to readers that only
// take a path.
#ifndef PETREL_TESTS_FUZZ_FUZZ_UTIL_H_
#define PETREL_TESTS_FUZZ_FUZZ_UTIL_H_

#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/string_view.h"

namespace petrel::fuzz {

// Reads an input as a sequence of records, each one byte of kind and a
// 16-bit little-endian length, then that many bytes (fewer at the end of the
// input). The kinds say which request a record is; the bytes are parsed as
// that request, so the fuzzer mutates real wire data.
class RecordReader {
 public:
  RecordReader(const uint8_t* data, size_t size)
      : data_(reinterpret_cast<const char*>(data)), size_(size) {}

  // False when the input is used up.
  bool Next(uint8_t* kind, absl::string_view* bytes) {
    if (size_ - at_ < 3) return false;
    *kind = static_cast<uint8_t>(data_[at_]);
    size_t length = static_cast<uint8_t>(data_[at_ + 1]) |
                    (static_cast<size_t>(static_cast<uint8_t>(data_[at_ + 2])) << 8);
    at_ += 3;
    if (length > size_ - at_) length = size_ - at_;
    *bytes = absl::string_view(data_ + at_, length);
    at_ += length;
    return true;
  }

 private:
  const char* const data_;
  const size_t size_;
  size_t at_ = 0;
};

// Appends one record in RecordReader's format (for writing seeds).
inline void AppendRecord(uint8_t kind, absl::string_view bytes, std::string* out) {
  out->push_back(static_cast<char>(kind));
  out->push_back(static_cast<char>(bytes.size() & 0xff));
  out->push_back(static_cast<char>((bytes.size() >> 8) & 0xff));
  out->append(bytes.data(), bytes.size());
}

// One file, rewritten with each input, for readers that take a path. It
// lives in TEST_TMPDIR under Bazel, else TMPDIR, else /tmp; one per process.
class ScratchFile {
 public:
  ScratchFile() {
    const char* dir = std::getenv("TEST_TMPDIR");
    if (dir == nullptr) dir = std::getenv("TMPDIR");
    if (dir == nullptr) dir = "/tmp";
    path_ = std::string(dir) + "/petrel-fuzz-XXXXXX";
    const int fd = mkstemp(path_.data());
    if (fd < 0) {
      std::perror("mkstemp");
      std::abort();
    }
    close(fd);
  }
  ~ScratchFile() { unlink(path_.c_str()); }
  ScratchFile(const ScratchFile&) = delete;
  ScratchFile& operator=(const ScratchFile&) = delete;

  // Replaces the file's contents with `bytes` and returns its path.
  const std::string& Write(const uint8_t* data, size_t size) {
    FILE* file = std::fopen(path_.c_str(), "wb");
    if (file == nullptr || (size > 0 && std::fwrite(data, 1, size, file) != size) ||
        std::fclose(file) != 0) {
      std::perror(path_.c_str());
      std::abort();
    }
    return path_;
  }

 private:
  std::string path_;
};

// `size` bytes as one gzip member, as gzip(1) writes them: lets a target
// explore what lies behind zlib without the fuzzer having to find valid
// deflate streams.
inline std::string Gzip(const uint8_t* data, size_t size) {
  z_stream stream{};
  // windowBits 15 + 16: a gzip header and trailer.
  if (deflateInit2(&stream, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    std::abort();
  }
  std::string out(deflateBound(&stream, size), '\0');
  stream.next_in = const_cast<Bytef*>(data);
  stream.avail_in = static_cast<uInt>(size);
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  if (deflate(&stream, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

// Aborts (a crash the fuzzer reports and keeps) when an invariant fails.
#define PETREL_FUZZ_CHECK(condition)                                               \
  do {                                                                             \
    if (!(condition)) {                                                            \
      std::fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #condition); \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

}  // namespace petrel::fuzz

#endif  // PETREL_TESTS_FUZZ_FUZZ_UTIL_H_

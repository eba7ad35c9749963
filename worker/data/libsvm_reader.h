// Reads libsvm / svmlight text files: one example per line,
//
//   LABEL INDEX:VALUE INDEX:VALUE ...   # optional comment
//
// LABEL is an integer class; -1 is read as 0 so that -1/+1 files and 0/1
// files mean the same thing (other negative labels are an error). INDEX is
// a uint64 feature key, 0-based or 1-based alike (the reader keeps it as
// written); VALUE a finite float. Keys within a line need not be sorted but
// must be distinct. Blank lines and everything from `#` to the end of a line
// are skipped. Files may be gzip-compressed; that is detected from the content.
//
// Sharding: worker `shard` of `num_shards` keeps the examples whose index
// (counting data lines only, from 0) is congruent to `shard` modulo
// `num_shards`, so a reader never needs the file's length and every example
// lands in exactly one shard. A reader parses only the lines it keeps: a
// malformed line is reported by the shard that owns it.
#ifndef PETREL_WORKER_DATA_LIBSVM_READER_H_
#define PETREL_WORKER_DATA_LIBSVM_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace petrel::data {

struct SparseExample {
  int32_t label = 0;
  std::vector<uint64_t> keys;  // in file order
  std::vector<float> values;   // values[i] belongs to keys[i]
};

// A shard of a sparse data set in CSR form: example i has the features
// keys[offsets[i] .. offsets[i + 1]) with the matching values.
struct SparseDataset {
  std::vector<int64_t> offsets = {0};  // num_examples() + 1 entries
  std::vector<uint64_t> keys;
  std::vector<float> values;
  std::vector<int32_t> labels;

  int64_t num_examples() const { return static_cast<int64_t>(labels.size()); }
  void Append(const SparseExample& example);
};

class LibsvmReader {
 public:
  // NOT_FOUND naming the path when it does not exist; INVALID_ARGUMENT for
  // a bad shard / num_shards.
  static absl::StatusOr<std::unique_ptr<LibsvmReader>> Open(const std::string& path,
                                                            int shard = 0, int num_shards = 1);
  ~LibsvmReader();
  LibsvmReader(const LibsvmReader&) = delete;
  LibsvmReader& operator=(const LibsvmReader&) = delete;

  // Fills `out` with this shard's next example and returns true, or returns
  // false at the end of the file. Errors: INVALID_ARGUMENT "PATH:LINE: ..."
  // for a malformed line, DATA_LOSS for a read error or corrupt gzip data.
  absl::StatusOr<bool> Next(SparseExample* out);

  // The 1-based number of the line last read.
  int64_t line_number() const { return line_number_; }

 private:
  LibsvmReader(std::string path, void* file, int shard, int num_shards);
  // Reads the next physical line into line_ (without its newline); false at EOF.
  absl::StatusOr<bool> ReadLine();

  const std::string path_;
  void* const file_;  // gzFile, kept out of the header so users need no zlib.h
  const int shard_;
  const int num_shards_;
  std::string line_;
  int64_t line_number_ = 0;
  int64_t data_lines_ = 0;  // data lines seen so far, in every shard
};

// Parses one line's data (comment already stripped, not blank).
// `where` ("PATH:LINE") prefixes the error messages.
absl::Status ParseLibsvmLine(const std::string& line, const std::string& where,
                             SparseExample* out);

// Reads shard `shard` of `num_shards` of a whole file.
absl::StatusOr<SparseDataset> LoadLibsvm(const std::string& path, int shard = 0,
                                         int num_shards = 1);

}  // namespace petrel::data

#endif  // PETREL_WORKER_DATA_LIBSVM_READER_H_

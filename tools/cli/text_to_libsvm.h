// Turns a folder tree of text files (e.g. one email per file) into hashed,
// L2-normalised libsvm files for a linear model.
//
// Each file is one example. Its label comes from the name of the top-level
// subdirectory of the input folder it sits under (files may be nested deeper),
// through a caller-given map such as {spam-1: 1, easy-ham-1: 0}; files under
// unmapped subdirectories, directly in the input folder or with another name
// suffix are skipped. Files are read as raw bytes: emails carry every
// encoding there is, and tokenising ASCII letters and digits needs none.
//
// Features: the file is split into maximal runs of [A-Za-z0-9] (any other byte
// separates tokens), lower-cased; each token is hashed with 64-bit FNV-1a and
// the hash reduced modulo 2^hash_bits to a bucket, which is the feature index
// (0-based, in [0, 2^hash_bits)). Presence is binary, and the example is
// L2-normalised, so every feature of an example with n distinct buckets has the
// value 1/sqrt(n). Indices are written in increasing order.
//
// Split: a file is a test example when U < test_fraction, where U in [0, 1) is
// drawn from a hash of (seed, the file's path relative to the input folder).
// The split therefore depends on neither the order files are listed in nor
// which other files exist.
#ifndef PETREL_TOOLS_CLI_TEXT_TO_LIBSVM_H_
#define PETREL_TOOLS_CLI_TEXT_TO_LIBSVM_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace petrel::cli {

struct TextToLibsvmOptions {
  std::string input_dir;
  std::string output_dir;                 // gets train.libsvm and test.libsvm
  std::map<std::string, int32_t> labels;  // top-level subdirectory name -> label
  std::string suffix;                     // only files whose name ends so; empty: all
  int hash_bits = 20;                     // 2^hash_bits buckets, in [1, 63]
  double test_fraction = 0.2;             // in [0, 1]
  uint64_t seed = 1;
};

struct TextToLibsvmCounts {
  int64_t train = 0;
  int64_t test = 0;
  std::map<int32_t, int64_t> train_by_label;
  std::map<int32_t, int64_t> test_by_label;
  int64_t skipped = 0;  // files not under a mapped subdirectory or without the suffix
};

// Parses specs "NAME=LABEL" (e.g. "spam-1=1"), each of which may also be a
// comma-separated list. INVALID_ARGUMENT naming the bad spec: no '=', an
// empty name, a non-integer or negative label, or a name given twice.
absl::StatusOr<std::map<std::string, int32_t>> ParseLabelSpecs(
    const std::vector<std::string>& specs);

constexpr uint64_t kFnv1aOffset = 14695981039346656037ull;
// 64-bit FNV-1a of `bytes`, continuing from `hash`.
uint64_t Fnv1a64(absl::string_view bytes, uint64_t hash = kFnv1aOffset);

// The sorted, distinct buckets of the tokens of `text` (see above).
std::vector<uint64_t> HashedBuckets(absl::string_view text, int hash_bits);

// Whether the file at `relative_path` goes to the test set.
bool IsTestExample(uint64_t seed, absl::string_view relative_path, double test_fraction);

// "LABEL b1:v b2:v ..." with v = 1/sqrt(buckets.size()), without a newline.
std::string LibsvmLine(int32_t label, const std::vector<uint64_t>& buckets);

// Converts the tree and writes OUTPUT/train.libsvm and OUTPUT/test.libsvm,
// each through a temporary file renamed into place, creating OUTPUT if need
// be. Files are written in the order of their relative paths. Errors name
// the offending path: NOT_FOUND for a missing input folder or mapped
// subdirectory, INVALID_ARGUMENT for bad options, PERMISSION_DENIED or
// DATA_LOSS for a file that cannot be read.
absl::StatusOr<TextToLibsvmCounts> TextToLibsvm(const TextToLibsvmOptions& options);

}  // namespace petrel::cli

#endif  // PETREL_TOOLS_CLI_TEXT_TO_LIBSVM_H_

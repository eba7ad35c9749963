#include "worker/data/libsvm_reader.h"

#include <sys/stat.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace petrel::data {
namespace {

constexpr char kWhitespace[] = " \t\r\v\f";

gzFile AsGz(void* file) { return static_cast<gzFile>(file); }

// Reads "1", "+1", "-1", "7" and also "1.0"; -1 becomes 0.
absl::Status ParseLabel(absl::string_view token, const std::string& where, int32_t* label) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(token, &value)) {
    double real = 0;
    if (!absl::SimpleAtod(token, &real) || !std::isfinite(real) || real != std::floor(real) ||
        std::fabs(real) > 1e15) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": bad label \"", token, "\": want an integer class"));
    }
    value = static_cast<int64_t>(real);
  }
  if (value == -1) value = 0;
  if (value < 0 || value > std::numeric_limits<int32_t>::max()) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": bad label \"", token, "\": want -1, 0, +1 or a class in [0, 2^31)"));
  }
  *label = static_cast<int32_t>(value);
  return absl::OkStatus();
}

}  // namespace

void SparseDataset::Append(const SparseExample& example) {
  keys.insert(keys.end(), example.keys.begin(), example.keys.end());
  values.insert(values.end(), example.values.begin(), example.values.end());
  labels.push_back(example.label);
  offsets.push_back(static_cast<int64_t>(keys.size()));
}

absl::Status ParseLibsvmLine(const std::string& line, const std::string& where,
                             SparseExample* out) {
  out->keys.clear();
  out->values.clear();
  std::vector<absl::string_view> tokens =
      absl::StrSplit(line, absl::ByAnyChar(kWhitespace), absl::SkipEmpty());
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ": empty line"));
  if (absl::Status label = ParseLabel(tokens[0], where, &out->label); !label.ok()) return label;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const absl::string_view token = tokens[i];
    const size_t colon = token.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": feature \"", token, "\" has no ':' (want INDEX:VALUE)"));
    }
    const absl::string_view index_text = token.substr(0, colon);
    const absl::string_view value_text = token.substr(colon + 1);
    uint64_t key = 0;
    if (!absl::SimpleAtoi(index_text, &key)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": bad feature index \"", index_text, "\": want a non-negative integer"));
    }
    float value = 0;
    if (!absl::SimpleAtof(value_text, &value)) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": bad value \"", value_text,
                                                     "\" for feature ", key, ": not a number"));
    }
    if (std::isnan(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": NaN value for feature ", key));
    }
    if (std::isinf(value)) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": infinite value \"", value_text, "\" for feature ", key));
    }
    out->keys.push_back(key);
    out->values.push_back(value);
  }
  std::vector<uint64_t> sorted = out->keys;
  std::sort(sorted.begin(), sorted.end());
  auto duplicate = std::adjacent_find(sorted.begin(), sorted.end());
  if (duplicate != sorted.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": duplicate feature index ", *duplicate));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<LibsvmReader>> LibsvmReader::Open(const std::string& path,
                                                                  int shard, int num_shards) {
  if (num_shards < 1 || shard < 0 || shard >= num_shards) {
    return absl::InvalidArgumentError(absl::StrCat("bad shard ", shard, " of ", num_shards,
                                                   " for ", path));
  }
  struct stat info;
  if (stat(path.c_str(), &info) != 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) {
      return absl::NotFoundError(absl::StrCat("libsvm file not found: ", path));
    }
    return absl::PermissionDeniedError(absl::StrCat("cannot open ", path, ": ",
                                                    std::strerror(error)));
  }
  if (S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is a directory, not a libsvm file"));
  }
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) {
    return absl::PermissionDeniedError(absl::StrCat("cannot open ", path, ": ",
                                                    std::strerror(errno)));
  }
  gzbuffer(file, 1 << 17);
  return std::unique_ptr<LibsvmReader>(new LibsvmReader(path, file, shard, num_shards));
}

LibsvmReader::LibsvmReader(std::string path, void* file, int shard, int num_shards)
    : path_(std::move(path)), file_(file), shard_(shard), num_shards_(num_shards) {}

LibsvmReader::~LibsvmReader() { gzclose(AsGz(file_)); }

absl::StatusOr<bool> LibsvmReader::ReadLine() {
  line_.clear();
  char buffer[1 << 16];
  bool any = false;
  while (gzgets(AsGz(file_), buffer, sizeof(buffer)) != nullptr) {
    any = true;
    const size_t length = std::strlen(buffer);
    line_.append(buffer, length);
    if (length > 0 && buffer[length - 1] == '\n') break;
  }
  int error = Z_OK;
  const char* message = gzerror(AsGz(file_), &error);
  if (error != Z_OK) {  // Z_BUF_ERROR: a truncated gzip stream
    return absl::DataLossError(absl::StrCat(path_, ":", line_number_ + 1, ": read failed: ",
                                            message));
  }
  if (!any) return false;
  ++line_number_;
  while (!line_.empty() && (line_.back() == '\n' || line_.back() == '\r')) line_.pop_back();
  return true;
}

absl::StatusOr<bool> LibsvmReader::Next(SparseExample* out) {
  while (true) {
    absl::StatusOr<bool> read = ReadLine();
    if (!read.ok()) return read.status();
    if (!*read) return false;
    const size_t comment = line_.find('#');
    if (comment != std::string::npos) line_.resize(comment);
    if (line_.find_first_not_of(kWhitespace) == std::string::npos) continue;
    const int64_t index = data_lines_++;
    if (index % num_shards_ != shard_) continue;
    absl::Status parsed = ParseLibsvmLine(line_, absl::StrCat(path_, ":", line_number_), out);
    if (!parsed.ok()) return parsed;
    return true;
  }
}

absl::StatusOr<SparseDataset> LoadLibsvm(const std::string& path, int shard, int num_shards) {
  absl::StatusOr<std::unique_ptr<LibsvmReader>> reader =
      LibsvmReader::Open(path, shard, num_shards);
  if (!reader.ok()) return reader.status();
  SparseDataset dataset;
  SparseExample example;
  while (true) {
    absl::StatusOr<bool> next = (*reader)->Next(&example);
    if (!next.ok()) return next.status();
    if (!*next) break;
    dataset.Append(example);
  }
  return dataset;
}

}  // namespace petrel::data

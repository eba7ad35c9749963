#include "tools/cli/text_to_libsvm.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace petrel::cli {
namespace {

namespace fs = std::filesystem;

constexpr uint64_t kFnv1aPrime = 1099511628211ull;

// SplitMix64's finaliser: FNV-1a's low and high bits are weakly mixed for
// short inputs, and the split uses the high bits.
uint64_t Mix64(uint64_t x) {
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

absl::Status ReadBytes(const fs::path& path, std::string* bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    const int error = errno;
    const std::string message = absl::StrCat("cannot read ", path.string(), ": ",
                                             std::strerror(error));
    return error == EACCES ? absl::PermissionDeniedError(message)
                           : absl::DataLossError(message);
  }
  bytes->assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat("cannot read ", path.string(), ": read failed"));
  }
  return absl::OkStatus();
}

struct InputFile {
  std::string relative_path;  // with '/' separators
  int32_t label;
};

// The labelled files under `options.input_dir`, sorted by relative path.
absl::StatusOr<std::vector<InputFile>> ListFiles(const TextToLibsvmOptions& options,
                                                 int64_t* skipped) {
  const fs::path root(options.input_dir);
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::NotFoundError(absl::StrCat("input folder not found: ", options.input_dir));
  }
  for (const auto& [name, label] : options.labels) {
    if (!fs::is_directory(root / name, ec)) {
      return absl::NotFoundError(absl::StrCat("no subdirectory \"", name, "\" (labelled ", label,
                                              ") in ", options.input_dir));
    }
  }
  std::vector<InputFile> files;
  fs::recursive_directory_iterator it(root, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    const fs::path& path = it->path();
    if (fs::is_directory(path, ec)) continue;  // follows links, like the iterator's test
    ec.clear();
    const std::string relative = path.lexically_relative(root).generic_string();
    const size_t slash = relative.find('/');
    auto label = slash == std::string::npos ? options.labels.end()
                                            : options.labels.find(relative.substr(0, slash));
    const std::string name = path.filename().string();
    const bool suffix_ok = name.size() >= options.suffix.size() &&
                           name.compare(name.size() - options.suffix.size(),
                                        options.suffix.size(), options.suffix) == 0;
    if (label == options.labels.end() || !suffix_ok) {
      ++*skipped;
      continue;
    }
    files.push_back({relative, label->second});
  }
  if (ec) {
    return absl::DataLossError(
        absl::StrCat("cannot list ", options.input_dir, ": ", ec.message()));
  }
  std::sort(files.begin(), files.end(), [](const InputFile& a, const InputFile& b) {
    return a.relative_path < b.relative_path;
  });
  return files;
}

// A file written under a temporary name and renamed into place by Commit().
class AtomicFile {
 public:
  explicit AtomicFile(fs::path path)
      : path_(std::move(path)),
        temp_(path_.string() + absl::StrCat(".tmp-", getpid())),
        out_(temp_, std::ios::binary | std::ios::trunc) {}
  ~AtomicFile() {
    if (!committed_) {
      out_.close();
      std::error_code ignored;
      fs::remove(temp_, ignored);
    }
  }
  bool is_open() const { return out_.is_open(); }
  std::ofstream& stream() { return out_; }
  const fs::path& temp() const { return temp_; }

  // Closes the temporary file; rename separately, so that both outputs are
  // complete before either replaces an older one.
  absl::Status Close() {
    out_.close();
    if (out_.fail()) return absl::DataLossError(absl::StrCat("cannot write ", temp_.string()));
    return absl::OkStatus();
  }
  absl::Status Commit() {
    std::error_code ec;
    fs::rename(temp_, path_, ec);
    if (ec) {
      return absl::DataLossError(absl::StrCat("cannot rename ", temp_.string(), " to ",
                                              path_.string(), ": ", ec.message()));
    }
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  const fs::path path_;
  const fs::path temp_;
  std::ofstream out_;
  bool committed_ = false;
};

}  // namespace

absl::StatusOr<std::map<std::string, int32_t>> ParseLabelSpecs(
    const std::vector<std::string>& specs) {
  std::map<std::string, int32_t> labels;
  for (const std::string& list : specs) {
    for (absl::string_view spec : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
      spec = absl::StripAsciiWhitespace(spec);
      const size_t eq = spec.rfind('=');
      if (eq == absl::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad label spec \"", spec, "\": want SUBDIRECTORY=LABEL"));
      }
      const std::string name(absl::StripAsciiWhitespace(spec.substr(0, eq)));
      int32_t label = 0;
      if (name.empty() || name.find('/') != std::string::npos) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad label spec \"", spec, "\": want a subdirectory name before '='"));
      }
      if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(spec.substr(eq + 1)), &label) ||
          label < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "bad label spec \"", spec, "\": the label must be a non-negative integer"));
      }
      if (!labels.emplace(name, label).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("bad label spec \"", spec, "\": \"", name, "\" is labelled twice"));
      }
    }
  }
  return labels;
}

uint64_t Fnv1a64(absl::string_view bytes, uint64_t hash) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= kFnv1aPrime;
  }
  return hash;
}

std::vector<uint64_t> HashedBuckets(absl::string_view text, int hash_bits) {
  const uint64_t mask = (uint64_t{1} << hash_bits) - 1;
  std::vector<uint64_t> buckets;
  std::string token;
  auto flush = [&] {
    if (token.empty()) return;
    buckets.push_back(Fnv1a64(token) & mask);
    token.clear();
  };
  for (char c : text) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c))) {
      token.push_back(absl::ascii_tolower(static_cast<unsigned char>(c)));
    } else {
      flush();
    }
  }
  flush();
  std::sort(buckets.begin(), buckets.end());
  buckets.erase(std::unique(buckets.begin(), buckets.end()), buckets.end());
  return buckets;
}

bool IsTestExample(uint64_t seed, absl::string_view relative_path, double test_fraction) {
  char seed_bytes[8];
  for (int i = 0; i < 8; ++i) seed_bytes[i] = static_cast<char>(seed >> (8 * i));
  const uint64_t hash =
      Mix64(Fnv1a64(relative_path, Fnv1a64(absl::string_view(seed_bytes, 8))));
  const double u = static_cast<double>(hash >> 11) * 0x1.0p-53;  // [0, 1)
  return u < test_fraction;
}

std::string LibsvmLine(int32_t label, const std::vector<uint64_t>& buckets) {
  std::string line = absl::StrCat(label);
  if (buckets.empty()) return line;
  const std::string value =
      absl::StrFormat("%.9g", 1.0f / std::sqrt(static_cast<float>(buckets.size())));
  for (uint64_t bucket : buckets) absl::StrAppend(&line, " ", bucket, ":", value);
  return line;
}

absl::StatusOr<TextToLibsvmCounts> TextToLibsvm(const TextToLibsvmOptions& options) {
  if (options.hash_bits < 1 || options.hash_bits > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash bits must be in [1, 63], not ", options.hash_bits));
  }
  if (!(options.test_fraction >= 0 && options.test_fraction <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("test fraction must be in [0, 1], not ", options.test_fraction));
  }
  if (options.labels.empty()) {
    return absl::InvalidArgumentError("no labels: give at least one SUBDIRECTORY=LABEL");
  }
  if (options.output_dir.empty()) return absl::InvalidArgumentError("no output folder");
  TextToLibsvmCounts counts;
  absl::StatusOr<std::vector<InputFile>> files = ListFiles(options, &counts.skipped);
  if (!files.ok()) return files.status();

  const fs::path output(options.output_dir);
  std::error_code ec;
  fs::create_directories(output, ec);
  if (ec) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot create ", options.output_dir, ": ", ec.message()));
  }
  AtomicFile train(output / "train.libsvm");
  AtomicFile test(output / "test.libsvm");
  for (AtomicFile* file : {&train, &test}) {
    if (!file->is_open()) {
      return absl::PermissionDeniedError(
          absl::StrCat("cannot write ", file->temp().string(), ": ", std::strerror(errno)));
    }
  }
  const fs::path root(options.input_dir);
  std::string bytes;
  for (const InputFile& file : *files) {
    if (absl::Status read = ReadBytes(root / file.relative_path, &bytes); !read.ok()) return read;
    const bool is_test = IsTestExample(options.seed, file.relative_path, options.test_fraction);
    (is_test ? test : train).stream()
        << LibsvmLine(file.label, HashedBuckets(bytes, options.hash_bits)) << '\n';
    ++(is_test ? counts.test : counts.train);
    ++(is_test ? counts.test_by_label : counts.train_by_label)[file.label];
  }
  for (AtomicFile* file : {&train, &test}) {
    if (absl::Status closed = file->Close(); !closed.ok()) return closed;
  }
  for (AtomicFile* file : {&train, &test}) {
    if (absl::Status committed = file->Commit(); !committed.ok()) return committed;
  }
  return counts;
}

}  // namespace petrel::cli

#include "common/durable_file.h"

#include <fcntl.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/sha256.h"

namespace petrel {
namespace {

constexpr size_t kMagicBytes = 8;
constexpr size_t kHeaderBytes = kMagicBytes + sizeof(uint32_t) + sizeof(uint64_t);

absl::Status Errno(const std::string& what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

// Writes all of `bytes` to `fd`.
bool WriteAll(int fd, const std::string& bytes) {
  const char* data = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    const ssize_t n = write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    left -= n;
  }
  return true;
}

}  // namespace

absl::Status WriteDurableFile(const std::string& path, const FileFormat& format,
                              const std::string& payload) {
  std::string file(format.magic.substr(0, kMagicBytes));
  const uint32_t version = format.version;
  const uint64_t length = payload.size();
  file.append(reinterpret_cast<const char*>(&version), sizeof(version));
  file.append(reinterpret_cast<const char*>(&length), sizeof(length));
  file += payload;
  file += Sha256(payload);

  const std::string temp = absl::StrCat(path, ".tmp.", getpid());
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("cannot create", temp);
  const bool written = WriteAll(fd, file) && fsync(fd) == 0;
  const int saved_errno = errno;
  close(fd);
  if (!written) {
    errno = saved_errno;
    absl::Status status = Errno("cannot write", temp);
    unlink(temp.c_str());
    return status;
  }
  if (rename(temp.c_str(), path.c_str()) != 0) {
    absl::Status status = Errno("cannot rename into place", path);
    unlink(temp.c_str());
    return status;
  }
  // The rename itself must reach the disk: fsync the directory.
  const std::string dir = std::filesystem::path(path).parent_path().string();
  const int dir_fd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return Errno("cannot open the directory of", path);
  const bool synced = fsync(dir_fd) == 0;
  close(dir_fd);
  if (!synced) return Errno("cannot fsync the directory of", path);
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadDurableFile(const std::string& path, const FileFormat& format) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("no ", format.what, " file ", path));
  const std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto corrupt = [&path, &format](const std::string& why) {
    return absl::DataLossError(absl::StrCat(format.what, " file ", path, " is refused: ", why));
  };
  if (file.size() < kHeaderBytes + SHA256_DIGEST_LENGTH) {
    return corrupt(absl::StrCat("only ", file.size(), " bytes, shorter than any ", format.what));
  }
  if (absl::string_view(file.data(), kMagicBytes) != format.magic) {
    return corrupt(absl::StrCat("not a Petrel ", format.what, " (bad magic)"));
  }
  uint32_t version;
  uint64_t length;
  std::memcpy(&version, file.data() + kMagicBytes, sizeof(version));
  std::memcpy(&length, file.data() + kMagicBytes + sizeof(version), sizeof(length));
  if (version != format.version) {
    return corrupt(absl::StrCat("format version ", version, "; this build reads ", format.version));
  }
  if (length != file.size() - kHeaderBytes - SHA256_DIGEST_LENGTH) {
    return corrupt(absl::StrCat("header says ", length, " payload bytes, the file holds ",
                                file.size() - kHeaderBytes - SHA256_DIGEST_LENGTH,
                                " (truncated or extended)"));
  }
  const std::string payload = file.substr(kHeaderBytes, length);
  const std::string stored = file.substr(kHeaderBytes + length);
  const std::string actual = Sha256(payload);
  if (stored != actual) {
    return corrupt(absl::StrCat("SHA-256 mismatch (stored ", absl::BytesToHexString(stored),
                                ", computed ", absl::BytesToHexString(actual), ")"));
  }
  return payload;
}

}  // namespace petrel

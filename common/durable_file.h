// Files that survive a crash at any moment whole or not at all, and that are
// refused whole when damaged: the container of checkpoints and of the
// coordinator's state.
//
// Layout: magic (8 bytes) | uint32 version | uint64 payload length | payload
// | SHA-256 of the payload (32 bytes). Written to a temporary name, fsynced,
// renamed into place, and the directory fsynced, so a reader sees either the
// old file or the complete new one.
#ifndef PETREL_COMMON_DURABLE_FILE_H_
#define PETREL_COMMON_DURABLE_FILE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace petrel {

struct FileFormat {
  absl::string_view magic;  // exactly 8 bytes
  uint32_t version = 1;
  absl::string_view what;   // "checkpoint", "coordinator state": for errors
};

absl::Status WriteDurableFile(const std::string& path, const FileFormat& format,
                              const std::string& payload);

// The payload. NOT_FOUND for a missing file; DATA_LOSS, naming the file and
// what is wrong, for one that is truncated, of another kind or version, or
// fails its checksum.
absl::StatusOr<std::string> ReadDurableFile(const std::string& path, const FileFormat& format);

}  // namespace petrel

#endif  // PETREL_COMMON_DURABLE_FILE_H_

// One checkpoint file on disk: a durable file (common/durable_file.h, magic
// "PETRELCK") whose payload is a serialized ShardCheckpoint. A crash at any
// moment leaves the old file or the complete new one, and a corrupt or
// foreign file is refused whole, with an error naming it, never half-loaded.
#ifndef PETREL_CHECKPOINT_CHECKPOINT_FILE_H_
#define PETREL_CHECKPOINT_CHECKPOINT_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "proto/checkpoint.pb.h"

namespace petrel::server {

absl::Status WriteCheckpointFile(const std::string& path, const ShardCheckpoint& checkpoint);

// DATA_LOSS for a file that is truncated, not a Petrel checkpoint, of
// another version, or fails its checksum; NOT_FOUND for a missing one.
absl::StatusOr<ShardCheckpoint> ReadCheckpointFile(const std::string& path);

}  // namespace petrel::server

#endif  // PETREL_CHECKPOINT_CHECKPOINT_FILE_H_

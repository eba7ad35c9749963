#include "checkpoint/checkpoint_file.h"

#include "absl/strings/str_cat.h"
#include "common/durable_file.h"

namespace petrel::server {
namespace {

constexpr FileFormat kCheckpoint{"PETRELCK", 1, "checkpoint"};

}  // namespace

absl::Status WriteCheckpointFile(const std::string& path, const ShardCheckpoint& checkpoint) {
  return WriteDurableFile(path, kCheckpoint, checkpoint.SerializeAsString());
}

absl::StatusOr<ShardCheckpoint> ReadCheckpointFile(const std::string& path) {
  absl::StatusOr<std::string> payload = ReadDurableFile(path, kCheckpoint);
  if (!payload.ok()) return payload.status();
  ShardCheckpoint checkpoint;
  if (!checkpoint.ParseFromString(*payload)) {
    return absl::DataLossError(
        absl::StrCat("checkpoint file ", path, " is refused: the payload does not parse"));
  }
  return checkpoint;
}

}  // namespace petrel::server

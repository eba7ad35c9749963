// Reading a job's final parameters off its servers, and writing them as a
// safetensors file (an 8-byte header length, a JSON header, raw little-endian
// float32), which Python users load with `safetensors` or a few lines of numpy.
#ifndef PETREL_TOOLS_CLI_MODEL_EXPORT_H_
#define PETREL_TOOLS_CLI_MODEL_EXPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/job.pb.h"

namespace petrel::cli {

// Pulls every table of the job as an observer (outside the job's clock).
// tables[i] belongs to shard_map.tables(i).
absl::StatusOr<std::vector<std::vector<float>>> FetchParameters(const ShardMap& shard_map);

// SHA-256 (hex) of the parameters in a canonical order: tables by name, then
// elements by index, each as little-endian float32. Equal for bit-identical
// models whatever their placement.
std::string ParamsSha256(const ShardMap& shard_map, const std::vector<std::vector<float>>& tables);

// Writes `tables` (in shard_map order) to `path` atomically.
absl::Status WriteSafetensors(const std::string& path, const ShardMap& shard_map,
                              const std::vector<std::vector<float>>& tables);

}  // namespace petrel::cli

#endif  // PETREL_TOOLS_CLI_MODEL_EXPORT_H_

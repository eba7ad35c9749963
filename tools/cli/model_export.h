// Reading a job's final parameters off its servers, and writing them as a
// safetensors file (an 8-byte header length, a JSON header, raw little-endian
// tensors), which Python users load with `safetensors` or a few lines of
// numpy. A dense table is one F32 tensor of its shape; a sparse table NAME is
// two: NAME.keys (I64 [n]: the uint64 keys' bits, ascending as uint64) and
// NAME.rows (F32 [n, dim]: row i is the embedding of key i). docs/jobs.md
// ("Exported models") says how to read them.
#ifndef PETREL_TOOLS_CLI_MODEL_EXPORT_H_
#define PETREL_TOOLS_CLI_MODEL_EXPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/rpc/channel_factory.h"
#include "proto/job.pb.h"

namespace petrel::cli {

// Pulls every table of the job as an observer (outside the job's clock),
// over channels from `channels`. tables[i] belongs to shard_map.tables(i).
absl::StatusOr<std::vector<std::vector<float>>> FetchParameters(const ShardMap& shard_map,
                                                                ChannelFactory& channels);

// SHA-256 (hex) of the parameters in a canonical order: tables by name, then
// elements by index, each as little-endian float32. Equal for bit-identical
// models whatever their placement.
std::string ParamsSha256(const ShardMap& shard_map, const std::vector<std::vector<float>>& tables);

// Every row the servers hold of one sparse table (rows never touched are
// not stored, so not exported: they still have their initial values).
struct SparseTableRows {
  int dim = 0;
  std::vector<uint64_t> keys;  // ascending
  std::vector<float> rows;     // keys.size() x dim, row i for keys[i]
};

// Reads every sparse table of the job off its groups' primaries, page by
// page (at most `page_rows` rows a call; 0: as many as fit in a message),
// over channels from `channels`. tables[i] belongs to
// shard_map.sparse_tables(i).
absl::StatusOr<std::vector<SparseTableRows>> FetchSparseTables(const ShardMap& shard_map,
                                                               ChannelFactory& channels,
                                                               int page_rows = 0);

// Writes `tables` (in shard_map order) and `sparse` (in the order of
// shard_map.sparse_tables, or empty) to `path` atomically.
absl::Status WriteSafetensors(const std::string& path, const ShardMap& shard_map,
                              const std::vector<std::vector<float>>& tables,
                              const std::vector<SparseTableRows>& sparse = {});

}  // namespace petrel::cli

#endif  // PETREL_TOOLS_CLI_MODEL_EXPORT_H_

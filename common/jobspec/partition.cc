#include "common/jobspec/partition.h"

#include "absl/strings/str_cat.h"

#include "absl/status/status.h"
#include "common/jobspec/model_tables.h"

namespace petrel {

absl::StatusOr<std::vector<ShardRange>> PartitionDenseTables(
    const std::vector<DenseTable>& tables, const std::vector<ServerEndpoint>& servers) {
  if (servers.empty()) {
    return absl::FailedPreconditionError("cannot place tables: no servers");
  }
  const int64_t num_servers = static_cast<int64_t>(servers.size());
  std::vector<ShardRange> ranges;
  for (const DenseTable& table : tables) {
    const int64_t size = TableSize(table);
    for (int64_t i = 0; i < num_servers; ++i) {
      // Balanced split: range sizes differ by at most one element.
      const int64_t begin = size * i / num_servers;
      const int64_t end = size * (i + 1) / num_servers;
      if (begin == end) continue;
      ShardRange range;
      range.set_table(table.name());
      range.set_begin(begin);
      range.set_end(end);
      range.set_server_id(servers[i].id);
      range.set_server_address(servers[i].address);
      range.set_group(static_cast<int>(i));
      ranges.push_back(std::move(range));
    }
  }
  return ranges;
}

std::string DescribeChain(const ShardGroup& group) {
  std::string chain;
  for (int k = 0; k < group.servers_size(); ++k) {
    absl::StrAppend(&chain, k ? " -> " : "", group.servers(k),
                    k >= ReadyServers(group) ? " (rebuilding)" : "");
  }
  return chain;
}

int SparseShardOf(uint64_t key, int count) {
  key ^= key >> 33;  // the finaliser of MurmurHash3
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  key *= 0xc4ceb9fe1a85ec53ULL;
  key ^= key >> 33;
  return static_cast<int>(key % static_cast<uint64_t>(count));
}

std::vector<SparseShard> PartitionSparseTables(const std::vector<SparseTable>& tables,
                                               const std::vector<ServerEndpoint>& servers) {
  std::vector<SparseShard> shards;
  for (const SparseTable& table : tables) {
    for (size_t i = 0; i < servers.size(); ++i) {
      SparseShard shard;
      shard.set_table(table.name());
      shard.set_index(i);
      shard.set_count(servers.size());
      shard.set_server_id(servers[i].id);
      shard.set_server_address(servers[i].address);
      shard.set_group(static_cast<int>(i));
      shards.push_back(std::move(shard));
    }
  }
  return shards;
}

}  // namespace petrel

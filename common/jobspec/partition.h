// Placement of dense tables on server shards: each table, flattened, is cut
// into contiguous ranges of near-equal size, one per server.
#ifndef PETREL_COMMON_JOBSPEC_PARTITION_H_
#define PETREL_COMMON_JOBSPEC_PARTITION_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/job.pb.h"

namespace petrel {

struct ServerEndpoint {
  std::string id;
  std::string address;
};

// Range i of each table goes to servers[i] (shard group i); a table with fewer elements than
// there are servers gets no empty ranges. Ranges come out in table order, then
// by begin. Fails when `servers` is empty.
absl::StatusOr<std::vector<ShardRange>> PartitionDenseTables(
    const std::vector<DenseTable>& tables, const std::vector<ServerEndpoint>& servers);

// Sparse tables are cut by key: key k belongs to shard SparseShardOf(k, n) of
// n, one shard per server. The key is mixed first so that sequential keys
// (hashed features, ids) spread evenly.
int SparseShardOf(uint64_t key, int count);

// How many servers at the head of `group`'s chain hold its state (the rest
// are being rebuilt); a map that does not say holds them all.
inline int ReadyServers(const ShardGroup& group) {
  return group.ready() > 0 ? group.ready() : group.servers_size();
}

// "server-0 -> server-2 (rebuilding)": the chain, primary first.
std::string DescribeChain(const ShardGroup& group);

std::vector<SparseShard> PartitionSparseTables(const std::vector<SparseTable>& tables,
                                               const std::vector<ServerEndpoint>& servers);

}  // namespace petrel

#endif  // PETREL_COMMON_JOBSPEC_PARTITION_H_

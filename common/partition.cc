#include "common/partition.h"

#include "absl/status/status.h"
#include "common/model_tables.h"

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
      ranges.push_back(std::move(range));
    }
  }
  return ranges;
}

}  // namespace petrel

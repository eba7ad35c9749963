#include "coordinator/placement.h"

#include "absl/strings/str_cat.h"
#include "common/jobspec/model_tables.h"
#include "common/status_macros.h"

namespace petrel::coordinator {

absl::StatusOr<ShardMap> PlaceJob(const std::string& job_id, const JobSpec& spec,
                                  const std::vector<ServerEndpoint>& servers) {
  const std::vector<DenseTable> tables = JobTables(spec);
  PETREL_ASSIGN_OR_RETURN(std::vector<ShardRange> ranges, PartitionDenseTables(tables, servers));
  ShardMap map;
  map.set_job_id(job_id);
  map.set_epoch(1);
  for (const DenseTable& table : tables) *map.add_tables() = table;
  for (ShardRange& range : ranges) *map.add_ranges() = std::move(range);
  const std::vector<SparseTable> sparse = JobSparseTables(spec);
  for (const SparseTable& table : sparse) *map.add_sparse_tables() = table;
  for (SparseShard& shard : PartitionSparseTables(sparse, servers)) {
    *map.add_sparse_shards() = std::move(shard);
  }
  const int n = static_cast<int>(servers.size());
  const int replication = std::max(1, std::min(spec.cluster().replication(), n));
  for (int g = 0; g < n; ++g) {
    ShardGroup* group = map.add_groups();
    group->set_id(g);
    for (int k = 0; k < replication; ++k) {
      group->add_servers(servers[(g + k) % n].id);
      group->add_addresses(servers[(g + k) % n].address);
    }
    group->set_ready(replication);
  }
  return map;
}

std::set<std::string> ServersOf(const ShardMap& map) {
  std::set<std::string> servers;
  for (const ShardGroup& group : map.groups()) {
    servers.insert(group.servers().begin(), group.servers().end());
  }
  return servers;
}

int RepairChains(const std::vector<ServerEndpoint>& alive, int replication, ShardMap* map,
                 std::vector<std::string>* added) {
  int repaired = 0;
  for (ShardGroup& group : *map->mutable_groups()) {
    if (group.servers_size() == 0 || group.servers_size() >= replication) continue;
    // The alive server in the fewest chains of this job, not in this one.
    const ServerEndpoint* best = nullptr;
    int best_load = 0;
    for (const ServerEndpoint& server : alive) {
      bool member = false;
      int load = 0;
      for (const ShardGroup& other : map->groups()) {
        for (const std::string& id : other.servers()) {
          if (id == server.id) {
            ++load;
            member |= other.id() == group.id();
          }
        }
      }
      if (member) continue;
      if (best == nullptr || load < best_load) {
        best = &server;
        best_load = load;
      }
    }
    if (best == nullptr) continue;
    group.set_ready(ReadyServers(group));
    group.add_servers(best->id);
    group.add_addresses(best->address);
    added->push_back(absl::StrCat(best->id, " joins group ", group.id(), " (state from ",
                                  group.servers(group.ready() - 1), ")"));
    ++repaired;
  }
  if (repaired > 0) map->set_epoch(map->epoch() + 1);
  return repaired;
}

bool MarkInstalled(const std::string& server_id, int group_id, ShardMap* map) {
  if (group_id < 0 || group_id >= map->groups_size()) return false;
  ShardGroup& group = *map->mutable_groups(group_id);
  const int ready = ReadyServers(group);
  if (ready >= group.servers_size() || group.servers(ready) != server_id) return false;
  group.set_ready(ready + 1);
  map->set_epoch(map->epoch() + 1);
  return true;
}

ChainChange RemoveServers(const std::set<std::string>& dead, ShardMap* map) {
  ChainChange change;
  for (ShardGroup& group : *map->mutable_groups()) {
    ShardGroup kept;
    kept.set_id(group.id());
    const int ready = ReadyServers(group);
    for (int k = 0; k < group.servers_size(); ++k) {
      if (dead.count(group.servers(k))) continue;
      kept.add_servers(group.servers(k));
      kept.add_addresses(group.addresses(k));
      if (k < ready) kept.set_ready(kept.ready() + 1);
    }
    if (kept.servers_size() == group.servers_size()) continue;
    change.changed = true;
    if (kept.ready() == 0) {
      // Only servers still being rebuilt are left: they hold nothing yet.
      change.lost_groups.push_back(group.id());
    } else if (kept.servers(0) != group.servers(0)) {
      change.promotions.push_back(absl::StrCat(kept.servers(0), " now heads group ", group.id(),
                                               " (", group.servers(0), " died)"));
    }
    group = std::move(kept);
  }
  if (!change.changed) return change;
  map->set_epoch(map->epoch() + 1);
  auto primary = [map](int g, std::string* id, std::string* address) {
    if (g < 0 || g >= map->groups_size() || map->groups(g).servers_size() == 0) return;
    *id = map->groups(g).servers(0);
    *address = map->groups(g).addresses(0);
  };
  for (ShardRange& range : *map->mutable_ranges()) {
    primary(range.group(), range.mutable_server_id(), range.mutable_server_address());
  }
  for (SparseShard& shard : *map->mutable_sparse_shards()) {
    primary(shard.group(), shard.mutable_server_id(), shard.mutable_server_address());
  }
  return change;
}

}  // namespace petrel::coordinator

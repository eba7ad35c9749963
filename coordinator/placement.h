// Where a job's shards live, and how that changes when servers die: the
// shard map's groups (one per server the job started on), each held by a
// chain of `replication` servers. Pure functions on the ShardMap proto.
#ifndef PETREL_COORDINATOR_PLACEMENT_H_
#define PETREL_COORDINATOR_PLACEMENT_H_

#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/jobspec/partition.h"
#include "proto/job.pb.h"

namespace petrel::coordinator {

// The shard map of a job placed on `servers` (epoch 1): group g holds range
// g of every table and sparse shard g, and its chain is servers g, g+1, ...,
// g+replication-1 (wrapping), so every server heads one group and backs up
// replication-1 others.
absl::StatusOr<ShardMap> PlaceJob(const std::string& job_id, const JobSpec& spec,
                                  const std::vector<ServerEndpoint>& servers);

// Every server that holds a group of `map`.
std::set<std::string> ServersOf(const ShardMap& map);

struct ChainChange {
  bool changed = false;
  // Groups whose every server died: the map cannot serve them any more.
  std::vector<int> lost_groups;
  // "server-1 now heads group 0", one line per promotion, for the log.
  std::vector<std::string> promotions;
};

// Takes the `dead` servers out of every chain; the next server of a chain
// whose primary died becomes its primary, and each range and sparse shard
// names its group's new primary. The epoch grows when anything changed.
ChainChange RemoveServers(const std::set<std::string>& dead, ShardMap* map);

// Adds, to each group whose chain is shorter than `replication`, the alive
// server in the fewest of this job's chains (not yet in that one), at the
// chain's end and not ready: the last ready server sends it the state. The
// epoch grows when anything was added; `added` says what, for the log.
int RepairChains(const std::vector<ServerEndpoint>& alive, int replication, ShardMap* map,
                 std::vector<std::string>* added);

// `server_id`, next after the ready servers of group `group_id`, now holds
// the state: it counts as ready (and may be promoted). False when that is
// not the chain's state (already counted, or the chain changed).
bool MarkInstalled(const std::string& server_id, int group_id, ShardMap* map);

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_PLACEMENT_H_

// Every shard group this server holds, of every job, kept in step with what
// the coordinator assigns: a group whose chain names this server is built
// (restored from the job's checkpoint when the attempt starts from one),
// updated on every heartbeat, and dropped when the chain no longer names it.
#ifndef PETREL_SERVER_SHARD_STORE_H_
#define PETREL_SERVER_SHARD_STORE_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "proto/coordinator.pb.h"
#include "server/job_shards.h"

namespace petrel::server {

class ShardStore {
 public:
  explicit ShardStore(std::string server_id) : server_id_(std::move(server_id)) {}

  // Creates the shards of newly assigned jobs, updates the state of known ones
  // and drops jobs the coordinator no longer lists (cancelled or forgotten).
  // A job whose shards cannot be built is logged and skipped.
  void Reconcile(const std::vector<JobAssignment>& jobs);

  // The job's shards of `group`, or NOT_FOUND naming the job and this server.
  absl::StatusOr<std::shared_ptr<JobShards>> Find(const std::string& job_id, int group) const;

  void set_server_id(std::string server_id);
  // Called (from a request's thread) when a request names a newer shard map
  // than this server has: the daemon then asks the coordinator at once.
  void set_on_newer_epoch(std::function<void()> callback) { on_newer_epoch_ = std::move(callback); }

  // The groups whose state this server owes to a server joining their chain.
  std::vector<std::shared_ptr<JobShards>> TransfersDue() const;

  // The staleness gate of every job held, for the coordinator's heartbeat.
  std::vector<GateReport> GateReports(absl::Time now) const;
  // Logs pulls waiting past their job's stall timeout.
  void CheckStalls(absl::Time now) const;
  // Fails every waiting pull (the server is stopping).
  void CloseAll(const absl::Status& why) const;
  nlohmann::json StatusJson() const;

 private:
  mutable absl::Mutex mu_;
  std::string server_id_ ABSL_GUARDED_BY(mu_);
  std::function<void()> on_newer_epoch_ = [] {};  // set before serving
  using Key = std::pair<std::string, int>;  // job id, group
  struct Held {
    std::shared_ptr<JobShards> shards;
    int attempt = 0;
  };
  std::map<Key, Held> jobs_ ABSL_GUARDED_BY(mu_);
  // Groups that could not be built or restored, with why: reported to the
  // coordinator, which fails the job with the message.
  std::map<Key, std::string> errors_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_SHARD_STORE_H_

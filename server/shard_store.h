// Every job's shards on this server, kept in step with what the coordinator
// assigns.
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

  // The job's shards, or NOT_FOUND naming the job and this server.
  absl::StatusOr<std::shared_ptr<JobShards>> Find(const std::string& job_id) const;

  void set_server_id(std::string server_id);

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
  std::map<std::string, std::shared_ptr<JobShards>> jobs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_SHARD_STORE_H_

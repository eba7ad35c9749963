// A PsClient that survives changes of placement: when a shard's server
// cannot be reached, or answers that the worker's shard map is out of date
// or that it does not hold the shards (by the error's reason,
// common/shard_map_epoch.h), it tells the coordinator (which probes the
// server at once) when the server was unreachable, fetches the map again,
// rebuilds its inner client on the new map and retries the whole call.
// Servers recognise a retried push, so a push is applied once however often
// it is sent.
#ifndef PETREL_CLIENT_REROUTING_PS_CLIENT_H_
#define PETREL_CLIENT_REROUTING_PS_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/job.pb.h"
#include "client/ps_client.h"

namespace petrel::worker {

struct ReroutingOptions {
  // The job's current shard map, from the coordinator.
  std::function<absl::StatusOr<ShardMap>()> fetch_map;
  // Called once per failure episode with what went wrong.
  std::function<void(const std::string& error)> report_unreachable = [](const std::string&) {};
  std::function<bool()> stop_requested = [] { return false; };
  // Past this, the failure is returned to the caller.
  absl::Duration give_up_after = absl::Seconds(120);
  // Makes the client of one shard map (given the options with the short
  // inner retry); tests hand out fakes.
  std::function<std::unique_ptr<PsClient>(const ShardMap&, const PsClientOptions&)> make_client =
      [](const ShardMap& map, const PsClientOptions& options) {
        return NewGrpcPsClient(map, options);
      };
};

class ReroutingPsClient : public PsClient {
 public:
  ReroutingPsClient(const ShardMap& map, PsClientOptions options, ReroutingOptions rerouting);

  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                    SparseStep* sparse) override;
  absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                    const SparseStep* sparse) override;
  absl::Status PushPull(int64_t clock, const std::vector<std::vector<float>>& gradients,
                        std::vector<std::vector<float>>* next) override;
  absl::Status Leave(int64_t clock) override;
  absl::Status PushRoundUpdate(int64_t round, const std::vector<std::vector<uint64_t>>& update,
                               uint64_t weight) override;

  int64_t epoch() const { return epoch_; }

 private:
  absl::Status Retry(const char* what, const std::function<absl::Status(PsClient&)>& call);

  const PsClientOptions options_;
  const ReroutingOptions rerouting_;
  int64_t epoch_;
  const int attempt_;
  std::unique_ptr<PsClient> inner_;
};

// Whether `status` from a PsClient call may be cured by a new shard map: a
// server unreachable, behind, or no longer holding what was asked.
bool NeedsReroute(const absl::Status& status);

}  // namespace petrel::worker

#endif  // PETREL_CLIENT_REROUTING_PS_CLIENT_H_

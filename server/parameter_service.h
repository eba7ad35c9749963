// The parameter service's domain logic on proto types; no gRPC here
// (server/grpc_parameter_service.h adapts it). Calls complete through `done`
// so that a pull held back by the staleness gate occupies no thread.
#ifndef PETREL_SERVER_PARAMETER_SERVICE_H_
#define PETREL_SERVER_PARAMETER_SERVICE_H_

#include <functional>

#include "absl/status/status.h"
#include "proto/parameter.pb.h"
#include "server/shard_store.h"

namespace petrel::server {

class ParameterService {
 public:
  using Done = std::function<void(absl::Status)>;

  explicit ParameterService(ShardStore* store) : store_(store) {}

  void Pull(const PullRequest& request, PullResponse* response, Done done);
  void Push(const PushRequest& request, PushResponse* response, Done done);

 private:
  ShardStore* const store_;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_PARAMETER_SERVICE_H_

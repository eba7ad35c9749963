#include "server/parameter_service.h"

namespace petrel::server {

void ParameterService::Pull(const PullRequest& request, PullResponse* response, Done done) {
  auto shards = store_->Find(request.job_id());
  if (!shards.ok()) return done(shards.status());
  (*shards)->Pull(request, response, std::move(done));
}

void ParameterService::Push(const PushRequest& request, PushResponse*, Done done) {
  auto shards = store_->Find(request.job_id());
  if (!shards.ok()) return done(shards.status());
  done((*shards)->Push(request));
}

}  // namespace petrel::server

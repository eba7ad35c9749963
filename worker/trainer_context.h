// What a trainer (synchronous or federated) is given to train one job: its
// assignment, its device, its clients of the servers and the coordinator,
// and the daemon's hooks.
#ifndef PETREL_WORKER_TRAINER_CONTEXT_H_
#define PETREL_WORKER_TRAINER_CONTEXT_H_

#include <functional>
#include <string>

#include "client/coordinator_client.h"
#include "kernels/backend.h"
#include "proto/coordinator.pb.h"
#include "client/ps_client.h"

namespace petrel::worker {

struct TrainerContext {
  JobAssignment assignment;
  std::string worker_id;
  kernels::Backend* backend = nullptr;
  PsClient* ps = nullptr;
  CoordinatorClient* coordinator = nullptr;
  // True once the worker is shutting down or the job was taken away.
  std::function<bool()> stop_requested = [] { return false; };
  // Sees every progress report before it is sent (for /status).
  std::function<void(const ReportProgressRequest&)> on_report = [](const auto&) {};
};

}  // namespace petrel::worker

#endif  // PETREL_WORKER_TRAINER_CONTEXT_H_

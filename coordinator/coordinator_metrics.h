// petrel-coordinator's /metrics: membership and every job's progress (read
// from the document /status shows, so the two never disagree) and the
// process's figures.
#ifndef PETREL_COORDINATOR_COORDINATOR_METRICS_H_
#define PETREL_COORDINATOR_COORDINATOR_METRICS_H_

#include <string>

#include "nlohmann/json.hpp"

namespace petrel::coordinator {

// `status` is CoordinatorService::StatusJson().
std::string CoordinatorMetricsText(const nlohmann::json& status);

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_COORDINATOR_METRICS_H_

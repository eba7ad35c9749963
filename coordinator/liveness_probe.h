// Whether a node that went quiet is still there: a server must answer a gRPC
// call (any answer, even an error, proves the process serves), a worker its
// /healthz page (over HTTP or HTTPS). A killed process refuses the connection at once; a hung
// one lets the deadline pass.
#ifndef PETREL_COORDINATOR_LIVENESS_PROBE_H_
#define PETREL_COORDINATOR_LIVENESS_PROBE_H_

#include <string>

#include "absl/time/time.h"

namespace petrel::coordinator {

bool ServerAnswers(const std::string& grpc_address, absl::Duration deadline);
bool WorkerAnswers(const std::string& http_address, absl::Duration deadline);

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_LIVENESS_PROBE_H_

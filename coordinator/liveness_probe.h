// Whether a node that went quiet is still there: a server must answer a gRPC
// call (any answer, even an error, proves the process serves), a worker its
// /healthz page (over HTTP or HTTPS). A killed process refuses the
// connection at once; a hung one lets the deadline pass. The coordinator
// service is given a LivenessProbe (CoordinatorService::Options), so a test
// decides who answers (coordinator/fake_liveness_probe.h).
#ifndef PETREL_COORDINATOR_LIVENESS_PROBE_H_
#define PETREL_COORDINATOR_LIVENESS_PROBE_H_

#include <memory>
#include <string>

#include "absl/time/time.h"

namespace petrel {
class ChannelFactory;  // common/channel_factory.h: gRPC stays out of this header
}  // namespace petrel

namespace petrel::coordinator {

// Called from the coordinator's tick and from its gRPC threads at once, so
// implementations are thread-safe.
class LivenessProbe {
 public:
  virtual ~LivenessProbe() = default;

  virtual bool ServerAnswers(const std::string& grpc_address, absl::Duration deadline) = 0;
  virtual bool WorkerAnswers(const std::string& http_address, absl::Duration deadline) = 0;
};

// Probes over the network: servers with a gRPC health check on a channel of
// `channels` (which must outlive the probe), workers with GET /healthz.
std::unique_ptr<LivenessProbe> NewNetworkLivenessProbe(ChannelFactory& channels);

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_LIVENESS_PROBE_H_

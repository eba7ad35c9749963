// How the coordinator makes one server apply a federated round it closed
// (coordinator/coordinator_rounds.cc decides which servers: every
// up-to-date one of every group). The coordinator service is given a
// RoundCloser (CoordinatorService::Options), so a test sees the calls
// without servers (coordinator/fake_round_closer.h).
#ifndef PETREL_COORDINATOR_ROUND_CLOSER_H_
#define PETREL_COORDINATOR_ROUND_CLOSER_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "proto/parameter.pb.h"

namespace petrel {
class ChannelFactory;  // common/channel_factory.h: gRPC stays out of this header
}  // namespace petrel

namespace petrel::coordinator {

class RoundCloser {
 public:
  virtual ~RoundCloser() = default;

  // Has `server_id`, at `address`, apply `close`; the error names the round
  // and the server.
  virtual absl::Status CloseRound(const std::string& server_id, const std::string& address,
                                  const CloseRoundRequest& close) = 0;
};

// CloseRound over gRPC, on channels of `channels` (which must outlive it).
std::unique_ptr<RoundCloser> NewGrpcRoundCloser(ChannelFactory& channels);

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_ROUND_CLOSER_H_

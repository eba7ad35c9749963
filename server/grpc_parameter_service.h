// The gRPC face of ParameterService: a callback service that hands each call
// to the domain object and finishes the reactor when it is done.
#ifndef PETREL_SERVER_GRPC_PARAMETER_SERVICE_H_
#define PETREL_SERVER_GRPC_PARAMETER_SERVICE_H_

#include <atomic>

#include "common/daemon/metrics.h"
#include "common/wire/push_wire.h"
#include "proto/parameter.grpc.pb.h"
#include "server/parameter_service.h"

namespace petrel::server {

// Pull and Push are raw methods. A pull's answer leaves in the strings the
// shards filled, without protobuf copying them again (common/
// parameter_wire.h); a push is applied, held and forwarded from the slices
// it arrived in (common/push_wire.h).
class GrpcParameterService final
    : public Parameter::WithRawCallbackMethod_Pull<
          Parameter::WithRawCallbackMethod_Push<Parameter::CallbackService>> {
 public:
  explicit GrpcParameterService(ParameterService* service) : service_(service) {}
  ~GrpcParameterService() override;  // logs how pushes were decoded

  // How the pushes' tensor fields were found so far (push_wire.h).
  PushDecodeStats push_decode_stats() const;

  // Seconds from a call's arrival to its answer (a pull's includes any wait
  // at the staleness gate).
  const LatencyHistogram& pull_seconds() const { return pull_seconds_; }
  const LatencyHistogram& push_seconds() const { return push_seconds_; }

  grpc::ServerUnaryReactor* Pull(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Push(grpc::CallbackServerContext* context,
                                 const grpc::ByteBuffer* request,
                                 grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* InstallReplica(grpc::CallbackServerContext* context,
                                           const InstallReplicaRequest* request,
                                           InstallReplicaResponse* response) override;
  grpc::ServerUnaryReactor* CloseRound(grpc::CallbackServerContext* context,
                                       const CloseRoundRequest* request,
                                       CloseRoundResponse* response) override;
  grpc::ServerUnaryReactor* ListSparseRows(grpc::CallbackServerContext* context,
                                           const ListSparseRowsRequest* request,
                                           ListSparseRowsResponse* response) override;

 private:
  ParameterService* const service_;
  LatencyHistogram pull_seconds_, push_seconds_;
  std::atomic<int64_t> in_place_{0}, split_{0}, misaligned_{0}, gathered_bytes_{0};
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_GRPC_PARAMETER_SERVICE_H_

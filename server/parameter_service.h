// The parameter service's domain logic on proto types; no gRPC here
// (server/grpc_parameter_service.h adapts it) but the byte buffers a raw
// push arrives and leaves in. Pushes go down a group's chain, and state
// transfers to a server being rebuilt, through a ReplicaClient (server/
// replica_client.h). Calls complete through `done` so that a pull held back
// by the staleness gate, or a push waiting for the next server of its chain,
// occupies no thread.
#ifndef PETREL_SERVER_PARAMETER_SERVICE_H_
#define PETREL_SERVER_PARAMETER_SERVICE_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "common/wire/push_view.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/parameter.pb.h"
#include "server/replica_client.h"
#include "server/replica_transfer.h"
#include "server/shard_store.h"

namespace petrel::server {

struct ParameterServiceOptions {
  // Rebuilding a replica: the chunks of the group's state and the retries
  // of a failed chunk call (server/replica_transfer.h).
  // (How long each call may take is the ReplicaClient's.)
  ReplicaSendOptions transfer;
};

class ParameterService {
 public:
  using Done = std::function<void(absl::Status)>;

  // `store` and `replicas` must outlive the service.
  ParameterService(ShardStore* store, ReplicaClient* replicas,
                   ParameterServiceOptions options = {})
      : store_(store), replicas_(replicas), options_(std::move(options)) {}

  void Pull(const PullRequest& request, PullResponse* response, Done done);
  // Applies the push here, then forwards it to the next server of the
  // group's chain and answers once that server has answered: an
  // acknowledged push is held by every server of the chain. When the next
  // server cannot be reached the push stays applied here and the caller is
  // told UNAVAILABLE; its retry is recognised (not applied twice) and
  // forwarded again, down the chain the coordinator has repaired by then.
  //
  // A push that asks for pull_next is answered, after all that, with the
  // values of clock + 1 of its slices in `response`, once the staleness gate
  // lets that clock through (JobShards::PullAfterPush). Such a push that
  // cannot be a push-pull (leave, federated upload) is refused before
  // anything is applied; so is one naming slices not held here (as any push).
  //
  // `push` was decoded from `wire` (common/push_wire.h), which is what goes
  // down the chain: the bytes as they came, not serialised again (with
  // pull_next turned off after them, for a push-pull).
  void Push(PushView push, const grpc::ByteBuffer& wire, PushResponse* response, Done done);
  // A typed push (tests, fuzzing): serialised, then taken as the raw gRPC
  // method takes one; INVALID_ARGUMENT if it does not decode.
  void Push(const PushRequest& request, PushResponse* response, Done done);
  // One chunk of a group's state, from the server sending it (server/
  // replica_transfer.h); `response` says how far the transfer has come.
  absl::Status InstallReplica(const InstallReplicaRequest& request,
                              InstallReplicaResponse* response);
  // Federated jobs: ends a round on this server's shards of the group.
  absl::Status CloseRound(const CloseRoundRequest& request);
  // Export: a page of one sparse table's rows on this server.
  absl::Status ListSparseRows(const ListSparseRowsRequest& request,
                              ListSparseRowsResponse* response);

  // Sends each group's state to the server joining its chain, where this
  // server is the one to send it (server/job_shards.h Transfer), in chunks
  // of one snapshot, resuming after a failed call.
  void RunDueTransfers();

 private:
  // Push-pull (PushRequest.pull_next): what the push must not carry, and
  // the `done` that pulls clock + 1 into `response` once the push is in.
  static absl::Status CheckPushPull(const PushRequest& request);
  // What goes down the chain: `wire`'s own slices, and for a push-pull one
  // more field, pull_next = false, which wins as the last value of a field
  // does in protobuf: the values come from this server, not the next.
  static grpc::ByteBuffer ForwardedBytes(const grpc::ByteBuffer& wire, bool push_pull);
  static Done AnswerNextPull(std::shared_ptr<JobShards> shards, const PushRequest& push,
                             PushResponse* response, Done done);

  ShardStore* const store_;
  ReplicaClient* const replicas_;
  const ParameterServiceOptions options_;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_PARAMETER_SERVICE_H_

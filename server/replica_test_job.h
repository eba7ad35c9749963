// The job the replica-transfer tests rebuild (server/replica_transfer_test,
// tests/replica_rebuild_test): one shard group of an Adam job holding dense
// "w" [side, side] and "b" [bias] and sparse "emb" of dim `dim`, with the
// chain [server-0, server-1], server-1 joined and awaiting the state
// (ready 1). Test-only.
#ifndef PETREL_SERVER_REPLICA_TEST_JOB_H_
#define PETREL_SERVER_REPLICA_TEST_JOB_H_

#include <cstdint>
#include <string>

#include "proto/coordinator.pb.h"

namespace petrel::server {

struct ReplicaTestJob {
  std::string job_id = "job-1";
  int64_t rows = 40, cols = 50;  // of "w"
  int64_t bias = 10;             // size of "b"
  int dim = 4;                   // of "emb"
  int workers = 1;               // worker-0 .. worker-(workers - 1), BSP
  uint64_t seed = 5;
  std::string primary_address = "server-0:1";
  std::string replica_address = "server-1:1";
};

JobAssignment ReplicaTestAssignment(const ReplicaTestJob& job);

}  // namespace petrel::server

#endif  // PETREL_SERVER_REPLICA_TEST_JOB_H_

#include "server/replica_test_job.h"

#include <vector>

namespace petrel::server {

JobAssignment ReplicaTestAssignment(const ReplicaTestJob& job) {
  JobAssignment assignment;
  assignment.set_job_id(job.job_id);
  assignment.set_state(RUNNING);
  JobSpec* spec = assignment.mutable_spec();
  OptimizerSpec* adam = spec->mutable_optimizer();
  adam->set_type("adam");
  adam->set_learning_rate(0.01f);
  adam->set_beta1(0.9f);
  adam->set_beta2(0.999f);
  adam->set_epsilon(1e-8f);
  spec->mutable_training()->set_seed(job.seed);
  for (int rank = 0; rank < job.workers; ++rank) {
    assignment.add_worker_ids("worker-" + std::to_string(rank));
  }
  ShardMap* map = assignment.mutable_shard_map();
  map->set_job_id(job.job_id);
  map->set_epoch(1);
  auto dense = [&](const std::string& name, std::vector<int64_t> shape) {
    DenseTable* table = map->add_tables();
    table->set_name(name);
    int64_t size = 1;
    for (int64_t d : shape) {
      table->add_shape(d);
      size *= d;
    }
    table->set_initializer("glorot_uniform");
    ShardRange* range = map->add_ranges();
    range->set_table(name);
    range->set_begin(0);
    range->set_end(size);
    range->set_server_id("server-0");
    range->set_server_address(job.primary_address);
    range->set_group(0);
  };
  dense("w", {job.rows, job.cols});
  dense("b", {job.bias});
  SparseTable* emb = map->add_sparse_tables();
  emb->set_name("emb");
  emb->set_dim(job.dim);
  emb->set_initializer("uniform");
  emb->set_init_scale(0.1f);
  SparseShard* shard = map->add_sparse_shards();
  shard->set_table("emb");
  shard->set_index(0);
  shard->set_count(1);
  shard->set_server_id("server-0");
  shard->set_server_address(job.primary_address);
  shard->set_group(0);
  ShardGroup* group = map->add_groups();
  group->set_id(0);
  group->add_servers("server-0");
  group->add_addresses(job.primary_address);
  group->add_servers("server-1");
  group->add_addresses(job.replica_address);
  group->set_ready(1);
  return assignment;
}

}  // namespace petrel::server

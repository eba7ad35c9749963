#include "tools/bench/bench_cluster.h"

#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace petrel::bench {
namespace {

constexpr char kFashionMnist[] = "/usr/share/datasets/fashion-mnist";

JobSpec BaseJob(const std::string& name) {
  JobSpec spec;
  spec.set_name(name);
  spec.mutable_data()->set_format("idx");
  spec.mutable_data()->set_path(kFashionMnist);
  spec.mutable_optimizer()->set_type("sgd");
  spec.mutable_optimizer()->set_learning_rate(1e-6f);
  spec.mutable_training()->set_epochs(1);
  spec.mutable_training()->set_batch_size(64);
  spec.mutable_training()->set_staleness(-1);  // the bench's clocks never wait
  spec.mutable_training()->set_seed(1);
  spec.mutable_training()->set_eval_every_steps(200);
  spec.mutable_training()->set_stall_timeout_seconds(60);
  spec.mutable_cluster()->set_replication(1);
  spec.mutable_cluster()->set_device("cpu");
  return spec;
}

}  // namespace

JobSpec DenseTableJob(int64_t floats, const std::string& optimizer) {
  JobSpec spec = BaseJob("bench-dense");
  spec.mutable_model()->set_type("softmax");
  spec.mutable_model()->set_num_classes(10);
  spec.mutable_model()->set_input_dim(static_cast<int32_t>(floats / 10));
  spec.mutable_model()->set_initializer("zeros");
  spec.mutable_optimizer()->set_type(optimizer);
  return spec;
}

JobSpec MlpJob() {
  JobSpec spec = BaseJob("bench-mlp");
  spec.mutable_model()->set_type("mlp");
  spec.mutable_model()->add_hidden(256);
  spec.mutable_model()->set_input_dim(784);
  spec.mutable_model()->set_num_classes(10);
  spec.mutable_model()->set_initializer("glorot_uniform");
  spec.mutable_optimizer()->set_type("momentum");
  spec.mutable_optimizer()->set_momentum(0.9f);
  return spec;
}

absl::StatusOr<JobSpec> SparseJob(const std::string& scratch_dir) {
  for (const char* name : {"train.libsvm", "test.libsvm"}) {
    std::ofstream file(absl::StrCat(scratch_dir, "/", name));
    file << "1 3:1 7:1\n0 5:1\n";
    if (!file) return absl::InternalError(absl::StrCat("cannot write ", scratch_dir, "/", name));
  }
  JobSpec spec = BaseJob("bench-sparse");
  spec.mutable_model()->set_type("sparse_logistic");
  spec.mutable_model()->set_input_dim(2'000'000'000);
  spec.mutable_model()->set_num_classes(2);
  spec.mutable_model()->set_initializer("zeros");
  spec.mutable_data()->set_format("libsvm");
  spec.mutable_data()->set_path(scratch_dir);
  spec.mutable_data()->set_train_file("train.libsvm");
  spec.mutable_data()->set_test_file("test.libsvm");
  spec.mutable_optimizer()->set_type("adagrad");
  spec.mutable_optimizer()->set_learning_rate(0.1f);
  spec.mutable_optimizer()->set_initial_accumulator_value(0.1f);
  spec.mutable_optimizer()->set_epsilon(1e-10f);
  return spec;
}

absl::StatusOr<std::unique_ptr<BenchCluster>> BenchCluster::Start(int servers,
                                                                   cli::LocalTransport transport) {
  auto bench = std::unique_ptr<BenchCluster>(new BenchCluster());
  bench->servers_ = servers;
  cli::LocalCluster::Options options;
  options.servers = servers;
  options.workers = 0;
  options.device = "cpu";
  options.transport = transport;
  PETREL_ASSIGN_OR_RETURN(bench->cluster_, cli::LocalCluster::Start(options));
  bench->coordinator_ = NewGrpcCoordinatorClient(bench->cluster_->channels(), bench->cluster_->coordinator_address());

  CoordinatorSession::Options session;
  session.role = WORKER;
  session.registration.set_host("localhost");
  session.registration.set_grpc_address("bench");
  session.registration.set_device("cpu (bench_pushpull)");
  session.registration.set_pid(getpid());
  BenchCluster* self = bench.get();
  session.on_heartbeat = [self](const HeartbeatResponse& response) {
    for (const JobAssignment& job : response.jobs()) {
      if (job.state() != RUNNING) continue;
      absl::MutexLock lock(&self->mu_);
      self->assignment_ = job;
    }
  };
  bench->session_ = std::make_unique<CoordinatorSession>(bench->coordinator_.get(), session);
  PETREL_RETURN_IF_ERROR(bench->session_->Start(absl::Seconds(10)));
  return bench;
}

BenchCluster::~BenchCluster() {
  if (session_) session_->Stop();
  if (cluster_) cluster_->Stop();
}

absl::StatusOr<std::unique_ptr<worker::PsClient>> BenchCluster::StartJob(
    JobSpec spec, worker::PsClientOptions options) {
  spec.mutable_cluster()->set_servers(servers_);
  spec.mutable_cluster()->set_workers(1);
  SubmitJobRequest request;
  *request.mutable_spec() = spec;
  PETREL_ASSIGN_OR_RETURN(SubmitJobResponse submitted, coordinator_->SubmitJob(request));
  job_id_ = submitted.job_id();
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (assignment_.job_id() == job_id_) {
        options.job_id = job_id_;
        options.worker_id = session_->node_id();
        // Secured as this cluster's transport needs.
        if (options.channels == nullptr) options.channels = &cluster_->channels();
        return worker::NewGrpcPsClient(assignment_.shard_map(), options);
      }
    }
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(absl::StrCat("job ", job_id_, " was not placed in 30 s"));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

void BenchCluster::EndJob(worker::PsClient* client) {
  (void)client->Leave(1 << 30);
  (void)coordinator_->CancelJob(job_id_);
}

}  // namespace petrel::bench

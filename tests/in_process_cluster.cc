#include "tests/in_process_cluster.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace petrel::testing {

absl::StatusOr<std::unique_ptr<InProcessCluster>> InProcessCluster::Start(Options options) {
  auto cluster = std::unique_ptr<InProcessCluster>(new InProcessCluster());
  coordinator::CoordinatorDaemon::Options coordinator_options;
  coordinator_options.service.heartbeat_timeout = options.heartbeat_timeout;
  PETREL_ASSIGN_OR_RETURN(cluster->coordinator_,
                          coordinator::CoordinatorDaemon::Start(coordinator_options));
  const std::string address = cluster->coordinator_address();
  for (int i = 0; i < options.servers; ++i) {
    server::ServerDaemon::Options server_options;
    server_options.coordinator_address = address;
    PETREL_ASSIGN_OR_RETURN(auto server, server::ServerDaemon::Start(server_options));
    cluster->servers_.push_back(std::move(server));
  }
  for (int i = 0; i < options.workers; ++i) {
    worker::WorkerDaemon::Options worker_options;
    worker_options.coordinator_address = address;
    worker_options.device = "cpu";
    PETREL_ASSIGN_OR_RETURN(auto worker, worker::WorkerDaemon::Start(worker_options));
    cluster->workers_.push_back(std::move(worker));
  }
  cluster->client_ = NewGrpcCoordinatorClient(address);
  return cluster;
}

InProcessCluster::~InProcessCluster() {
  workers_.clear();
  servers_.clear();
  coordinator_.reset();
}

absl::StatusOr<JobStatus> InProcessCluster::WaitForJob(const std::string& job_id,
                                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    PETREL_ASSIGN_OR_RETURN(JobStatus job, client_->GetJob(job_id));
    if (job.state() == SUCCEEDED || job.state() == FAILED || job.state() == CANCELLED) return job;
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("job ", job_id, " still ", JobState_Name(job.state())));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::StatusOr<JobStatus> InProcessCluster::RunJob(const JobSpec& spec, absl::Duration timeout) {
  SubmitJobRequest request;
  *request.mutable_spec() = spec;
  PETREL_ASSIGN_OR_RETURN(SubmitJobResponse submitted, client_->SubmitJob(request));
  return WaitForJob(submitted.job_id(), timeout);
}

JobSpec FashionMnistJob(std::vector<int> hidden, int epochs, int servers, int workers) {
  JobSpec spec;
  spec.set_name(hidden.empty() ? "test-softmax" : "test-mlp");
  ModelSpec* model = spec.mutable_model();
  model->set_type(hidden.empty() ? "softmax" : "mlp");
  for (int h : hidden) model->add_hidden(h);
  model->set_input_dim(784);
  model->set_num_classes(10);
  model->set_initializer("glorot_uniform");
  DataSpec* data = spec.mutable_data();
  data->set_format("idx");
  data->set_path("/usr/share/datasets/fashion-mnist");
  data->set_train_images("train-images-idx3-ubyte.gz");
  data->set_train_labels("train-labels-idx1-ubyte.gz");
  data->set_test_images("t10k-images-idx3-ubyte.gz");
  data->set_test_labels("t10k-labels-idx1-ubyte.gz");
  OptimizerSpec* optimizer = spec.mutable_optimizer();
  optimizer->set_type("momentum");
  optimizer->set_learning_rate(hidden.empty() ? 0.01f : 0.02f);
  optimizer->set_momentum(0.9f);
  TrainingSpec* training = spec.mutable_training();
  training->set_epochs(epochs);
  training->set_batch_size(64);
  training->set_staleness(-1);
  training->set_seed(1);
  training->set_eval_every_steps(100);
  training->set_stall_timeout_seconds(30);
  ClusterSpec* cluster = spec.mutable_cluster();
  cluster->set_servers(servers);
  cluster->set_workers(workers);
  cluster->set_replication(1);
  cluster->set_device("cpu");
  return spec;
}

}  // namespace petrel::testing

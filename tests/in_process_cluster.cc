#include "tests/in_process_cluster.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "common/rpc/tls_certs.h"

namespace petrel::testing {

absl::StatusOr<std::unique_ptr<InProcessCluster>> InProcessCluster::Start(Options options) {
  auto cluster = std::unique_ptr<InProcessCluster>(new InProcessCluster(std::move(options)));
  if (cluster->options_.mutual_tls) PETREL_RETURN_IF_ERROR(cluster->MakeCredentials());
  PETREL_ASSIGN_OR_RETURN(cluster->channels_,
                          SecuredChannelFactory::Create(cluster->SecurityFor("client")));
  PETREL_RETURN_IF_ERROR(cluster->StartCoordinator(/*port=*/0));
  for (int i = 0; i < cluster->options_.servers; ++i) {
    PETREL_ASSIGN_OR_RETURN(auto server, cluster->NewServer());
    cluster->servers_.push_back(std::move(server));
  }
  for (int i = 0; i < cluster->options_.workers; ++i) {
    PETREL_ASSIGN_OR_RETURN(auto worker, cluster->NewWorker());
    cluster->workers_.push_back(std::move(worker));
  }
  cluster->client_ = NewGrpcCoordinatorClient(*cluster->channels_, cluster->coordinator_address_);
  return cluster;
}

absl::Status InProcessCluster::MakeCredentials() {
  const char* tmp = getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/petrel-cluster-XXXXXX");
  if (mkdtemp(dir.data()) == nullptr) {
    return absl::InternalError(absl::StrCat("cannot make a folder like ", dir));
  }
  tls_dir_ = dir + "/tls";
  PETREL_RETURN_IF_ERROR(WriteClusterCertificates(tls_dir_, /*hosts=*/{}));
  std::random_device random;
  for (int i = 0; i < 8; ++i) absl::StrAppend(&token_, absl::StrFormat("%08x", random()));
  return absl::OkStatus();
}

TransportSecurity InProcessCluster::SecurityFor(const std::string& role) const {
  TransportSecurity security;
  security.role = role;
  if (!options_.mutual_tls) return security;
  security.tls_dir = tls_dir_;
  security.mutual_tls = role == "coordinator" || role == "server";
  security.token = token_;
  return security;
}

absl::Status InProcessCluster::StartCoordinator(int port) {
  coordinator::CoordinatorDaemon::Options coordinator_options;
  coordinator_options.security = SecurityFor("coordinator");
  coordinator_options.listen.port = port;
  coordinator_options.service.heartbeat_timeout = options_.heartbeat_timeout;
  coordinator_options.service.state_dir = options_.coordinator_state_dir;
  PETREL_ASSIGN_OR_RETURN(coordinator_,
                          coordinator::CoordinatorDaemon::Start(coordinator_options));
  coordinator_port_ = coordinator_->ports().grpc_port;
  coordinator_address_ = coordinator_->address();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<server::ServerDaemon>> InProcessCluster::NewServer() const {
  server::ServerDaemon::Options server_options;
  server_options.security = SecurityFor("server");
  server_options.coordinator_address = coordinator_address_;
  return server::ServerDaemon::Start(server_options);
}

absl::StatusOr<std::unique_ptr<worker::WorkerDaemon>> InProcessCluster::NewWorker() const {
  worker::WorkerDaemon::Options worker_options;
  worker_options.security = SecurityFor("worker");
  worker_options.coordinator_address = coordinator_address_;
  worker_options.device = "cpu";
  return worker::WorkerDaemon::Start(worker_options);
}

InProcessCluster::~InProcessCluster() {
  workers_.clear();
  servers_.clear();
  coordinator_.reset();
  if (!tls_dir_.empty()) {
    std::error_code ignored;
    std::filesystem::remove_all(std::filesystem::path(tls_dir_).parent_path(), ignored);
  }
}

void InProcessCluster::KillServer(int i) { servers_.at(i).reset(); }

void InProcessCluster::KillWorker(int i) { workers_.at(i).reset(); }

absl::Status InProcessCluster::RestartServer(int i) {
  KillServer(i);
  PETREL_ASSIGN_OR_RETURN(servers_.at(i), NewServer());
  return absl::OkStatus();
}

absl::Status InProcessCluster::RestartWorker(int i) {
  KillWorker(i);
  PETREL_ASSIGN_OR_RETURN(workers_.at(i), NewWorker());
  return absl::OkStatus();
}

void InProcessCluster::KillCoordinator() { coordinator_.reset(); }

absl::Status InProcessCluster::RestartCoordinator() {
  KillCoordinator();
  // The port the daemons and client_ dial; it is free again once the old
  // gRPC server has shut down, since gRPC binds with SO_REUSEADDR.
  const std::string dialed = coordinator_address_;
  PETREL_RETURN_IF_ERROR(StartCoordinator(coordinator_port_));
  if (coordinator_address_ != dialed) {
    return absl::InternalError(absl::StrCat("the restarted coordinator is at ",
                                            coordinator_address_, ", not ", dialed));
  }
  return absl::OkStatus();
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

absl::StatusOr<std::string> InProcessCluster::SubmitJob(const JobSpec& spec) {
  SubmitJobRequest request;
  *request.mutable_spec() = spec;
  PETREL_ASSIGN_OR_RETURN(SubmitJobResponse submitted, client_->SubmitJob(request));
  return submitted.job_id();
}

absl::StatusOr<JobStatus> InProcessCluster::RunJob(const JobSpec& spec, absl::Duration timeout) {
  PETREL_ASSIGN_OR_RETURN(std::string job_id, SubmitJob(spec));
  return WaitForJob(job_id, timeout);
}

absl::StatusOr<int64_t> InProcessCluster::WaitForClock(const std::string& job_id, int64_t clock,
                                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (true) {
    PETREL_ASSIGN_OR_RETURN(JobStatus job, client_->GetJob(job_id));
    int64_t furthest = 0;
    for (const WorkerProgress& worker : job.workers()) furthest = std::max(furthest, worker.clock());
    if (furthest >= clock) return furthest;
    if (job.state() != RUNNING && job.state() != QUEUED) {
      return absl::FailedPreconditionError(absl::StrCat("job ", job_id, " ended ",
                                                        JobState_Name(job.state()), " at clock ",
                                                        furthest, ": ", job.error()));
    }
    if (absl::Now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("job ", job_id, " is at clock ", furthest, ", not ", clock));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
}

absl::Status InProcessCluster::WaitForAliveNodes(int nodes, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  int alive = 0;
  while (absl::Now() <= deadline) {
    absl::StatusOr<ClusterStatus> status = client_->GetClusterStatus();
    if (status.ok()) {
      alive = 0;
      for (const NodeStatus& node : status->nodes()) alive += node.alive() ? 1 : 0;
      if (alive >= nodes) return absl::OkStatus();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat(alive, " nodes alive, not ", nodes));
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

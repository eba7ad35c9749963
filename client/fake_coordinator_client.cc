#include "client/fake_coordinator_client.h"

#include "absl/strings/str_cat.h"

namespace petrel {

void FakeCoordinatorClient::SetShardMap(const std::string& job_id, ShardMap map) {
  absl::MutexLock lock(&mu_);
  shard_maps_[job_id] = std::move(map);
}

void FakeCoordinatorClient::SetJob(JobStatus job) {
  absl::MutexLock lock(&mu_);
  jobs_[job.job_id()] = std::move(job);
}

void FakeCoordinatorClient::SetJobState(JobState state) {
  absl::MutexLock lock(&mu_);
  job_state_ = state;
}

void FakeCoordinatorClient::SetHeartbeatResponse(HeartbeatResponse response) {
  absl::MutexLock lock(&mu_);
  heartbeat_response_ = std::move(response);
}

void FakeCoordinatorClient::SetClusterStatus(ClusterStatus status) {
  absl::MutexLock lock(&mu_);
  cluster_status_ = std::move(status);
}

void FakeCoordinatorClient::FailNextCalls(int n, absl::Status status) {
  absl::MutexLock lock(&mu_);
  failures_left_ = n;
  failure_ = std::move(status);
}

std::vector<RegisterRequest> FakeCoordinatorClient::registrations() const {
  absl::MutexLock lock(&mu_);
  return registrations_;
}

std::vector<HeartbeatRequest> FakeCoordinatorClient::heartbeats() const {
  absl::MutexLock lock(&mu_);
  return heartbeats_;
}

std::vector<ReportProgressRequest> FakeCoordinatorClient::progress_reports() const {
  absl::MutexLock lock(&mu_);
  return progress_reports_;
}

std::vector<ReportUnreachableRequest> FakeCoordinatorClient::unreachable_reports() const {
  absl::MutexLock lock(&mu_);
  return unreachable_reports_;
}

std::vector<JobSpec> FakeCoordinatorClient::submitted() const {
  absl::MutexLock lock(&mu_);
  return submitted_;
}

int FakeCoordinatorClient::shard_map_calls() const {
  absl::MutexLock lock(&mu_);
  return shard_map_calls_;
}

absl::Status FakeCoordinatorClient::TakeFailure() {
  if (failures_left_ == 0) return absl::OkStatus();
  --failures_left_;
  return failure_;
}

absl::StatusOr<RegisterResponse> FakeCoordinatorClient::Register(const std::string& prefix,
                                                                 const RegisterRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  registrations_.push_back(request);
  RegisterResponse response;
  response.set_node_id(absl::StrCat(prefix, next_node_++));
  response.set_heartbeat_interval_seconds(0.02);
  return response;
}

absl::StatusOr<RegisterResponse> FakeCoordinatorClient::RegisterServer(
    const RegisterRequest& request) {
  return Register("server-", request);
}

absl::StatusOr<RegisterResponse> FakeCoordinatorClient::RegisterWorker(
    const RegisterRequest& request) {
  return Register("worker-", request);
}

absl::StatusOr<HeartbeatResponse> FakeCoordinatorClient::Heartbeat(
    const HeartbeatRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  heartbeats_.push_back(request);
  return heartbeat_response_;
}

absl::StatusOr<SubmitJobResponse> FakeCoordinatorClient::SubmitJob(
    const SubmitJobRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  submitted_.push_back(request.spec());
  SubmitJobResponse response;
  response.set_job_id(absl::StrCat("job-", submitted_.size()));
  JobStatus& job = jobs_[response.job_id()];
  job.set_job_id(response.job_id());
  *job.mutable_spec() = request.spec();
  job.set_state(QUEUED);
  return response;
}

absl::StatusOr<JobStatus> FakeCoordinatorClient::GetJob(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("fake: no job ", job_id));
  return it->second;
}

absl::StatusOr<ListJobsResponse> FakeCoordinatorClient::ListJobs() {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  ListJobsResponse response;
  for (const auto& [id, job] : jobs_) *response.add_jobs() = job;
  return response;
}

absl::StatusOr<JobStatus> FakeCoordinatorClient::CancelJob(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return absl::NotFoundError(absl::StrCat("fake: no job ", job_id));
  it->second.set_state(CANCELLED);
  return it->second;
}

absl::StatusOr<ShardMap> FakeCoordinatorClient::GetShardMap(const std::string& job_id) {
  absl::MutexLock lock(&mu_);
  ++shard_map_calls_;
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  auto it = shard_maps_.find(job_id);
  if (it == shard_maps_.end()) {
    return absl::NotFoundError(absl::StrCat("fake: no shard map for job ", job_id));
  }
  return it->second;
}

absl::StatusOr<ReportProgressResponse> FakeCoordinatorClient::ReportProgress(
    const ReportProgressRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  progress_reports_.push_back(request);
  std::set<std::string>& finished = finished_[request.job_id()];
  if (request.finished_training()) finished.insert(request.worker_id());
  ReportProgressResponse response;
  response.set_state(job_state_);
  response.set_workers_finished(static_cast<int>(finished.size()));
  return response;
}

absl::StatusOr<ClusterStatus> FakeCoordinatorClient::GetClusterStatus() {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  return cluster_status_;
}

absl::StatusOr<ReportUnreachableResponse> FakeCoordinatorClient::ReportUnreachable(
    const ReportUnreachableRequest& request) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = TakeFailure(); !failed.ok()) return failed;
  unreachable_reports_.push_back(request);
  return ReportUnreachableResponse();
}

}  // namespace petrel

#include "coordinator/dashboard.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "common/jobspec/partition.h"
#include "common/rpc/rpc.h"
#include "coordinator/dashboard_page.h"
#include "nlohmann/json.hpp"

namespace petrel::coordinator {
namespace {

using nlohmann::json;

double NowUnix() { return absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()); }

HttpReply JsonReply(const json& document) {
  // Job names and error messages come from users and workers: replace bytes
  // that are not UTF-8 instead of throwing.
  return {200, "application/json",
          document.dump(-1, ' ', false, json::error_handler_t::replace) + "\n"};
}

HttpReply ErrorReply(int status, const std::string& message) {
  return {status, "text/plain", message + "\n"};
}

// At most `limit` of `points`, evenly spread, the last always kept (it is the
// newest value). `limit` 0 keeps everything.
template <typename Point>
std::vector<Point> Thin(const std::vector<Point>& points, size_t limit) {
  if (limit == 0 || points.size() <= limit) return points;
  std::vector<Point> thinned;
  thinned.reserve(limit);
  const double stride = static_cast<double>(points.size() - 1) / (limit - 1);
  for (size_t i = 0; i < limit; ++i) thinned.push_back(points[std::lround(i * stride)]);
  return thinned;
}

// Whether the job's mean train loss means anything yet: every worker has a
// progress row from the start, with a loss of 0 until it first reports.
bool HasLoss(const JobStatus& job) {
  if (!std::isfinite(job.train_loss())) return false;
  for (const WorkerProgress& w : job.workers()) {
    if (w.step() > 0) return true;
  }
  return false;
}

json NodeJson(const CoordinatorService& service, const NodeStatus& node) {
  return {{"id", node.node_id()},
          {"host", node.host()},
          {"grpc_address", node.grpc_address()},
          {"status_url", service.StatusUrlOf(node.http_address(), "/status")},
          {"device", node.device()},
          {"alive", node.alive()},
          {"seconds_since_heartbeat", node.seconds_since_heartbeat()}};
}

json ProgressJson(const WorkerProgress& w) {
  return {{"worker", w.worker_id()},
          {"rank", w.rank()},
          {"epoch", w.epoch()},
          {"step", w.step()},
          {"clock", w.clock()},
          {"train_loss", std::isfinite(w.train_loss()) ? json(w.train_loss()) : json()},
          {"samples_per_second", w.samples_per_second()},
          {"seconds_since_report", w.seconds_since_report()},
          {"finished_training", w.finished_training()}};
}

// One job's summary with its curves, each thinned to `limit` points.
json JobJson(const JobStatus& job, const std::vector<std::pair<double, double>>& loss,
             size_t limit) {
  const bool ended = job.finished_unix() > 0;
  const bool started = job.started_unix() > 0;
  json entry = {
      {"job_id", job.job_id()},
      {"name", job.name()},
      {"state", JobState_Name(job.state())},
      {"model", job.spec().model().type()},
      {"epoch", job.epoch()},
      {"epochs", job.spec().training().epochs()},
      {"steps_per_epoch", job.steps_per_epoch()},
      {"num_workers", job.spec().cluster().workers()},
      {"workers_finished", job.workers_finished()},
      {"samples_per_second", job.samples_per_second()},
      {"min_clock", job.min_clock()},
      {"max_observed_staleness", job.max_observed_staleness()},
      {"seconds", started ? (ended ? job.finished_unix() : NowUnix()) - job.started_unix() : 0.0},
      {"error", job.error()}};
  entry["train_loss"] = HasLoss(job) ? json(job.train_loss()) : json();
  entry["test_accuracy"] = job.has_test_accuracy() ? json(job.test_accuracy()) : json();
  json loss_points = json::array();
  for (const auto& [seconds, value] : Thin(loss, limit)) loss_points.push_back({seconds, value});
  entry["loss_history"] = std::move(loss_points);
  std::vector<AccuracyPoint> accuracy(job.accuracy_history().begin(), job.accuracy_history().end());
  json accuracy_points = json::array();
  for (const AccuracyPoint& p : Thin(accuracy, limit)) {
    accuracy_points.push_back({p.seconds(), p.test_accuracy()});
  }
  entry["accuracy_history"] = std::move(accuracy_points);
  return entry;
}

// Group g's chain, primary first (common/partition.h DescribeChain).
std::string ChainOf(const ShardMap& map, int g) {
  return g >= 0 && g < map.groups_size() ? DescribeChain(map.groups(g)) : "";
}

// Every range and sparse shard of `map`, one row each.
void AppendShards(const ShardMap& map, json* rows) {
  for (const ShardRange& r : map.ranges()) {
    rows->push_back({{"job_id", map.job_id()},
                     {"table", r.table()},
                     {"kind", "dense"},
                     {"begin", r.begin()},
                     {"end", r.end()},
                     {"size", r.end() - r.begin()},
                     {"server", r.server_id()},
                     {"server_address", r.server_address()},
                     {"group", r.group()},
                     {"replicas", ChainOf(map, r.group())},
                     {"shard_map_epoch", map.epoch()}});
  }
  for (const SparseShard& s : map.sparse_shards()) {
    rows->push_back({{"job_id", map.job_id()},
                     {"table", s.table()},
                     {"kind", "sparse"},
                     {"index", s.index()},
                     {"count", s.count()},
                     {"server", s.server_id()},
                     {"server_address", s.server_address()},
                     {"group", s.group()},
                     {"replicas", ChainOf(map, s.group())},
                     {"shard_map_epoch", map.epoch()}});
  }
}

// Queued jobs have no placement yet; every other job keeps its map.
json ShardsOf(CoordinatorService* service, const std::vector<const JobStatus*>& jobs) {
  json rows = json::array();
  for (const JobStatus* job : jobs) {
    if (job->state() == QUEUED) continue;
    GetShardMapRequest request;
    request.set_job_id(job->job_id());
    ShardMap map;
    if (service->GetShardMap(request, &map).ok()) AppendShards(map, &rows);
  }
  return rows;
}

}  // namespace

Dashboard::Dashboard(CoordinatorService* service, Options options)
    : service_(service), options_(options) {
  sampler_ = std::thread([this] {
    while (!stop_.WaitForNotificationWithTimeout(options_.sample_interval)) SampleOnce();
  });
}

Dashboard::~Dashboard() {
  stop_.Notify();
  sampler_.join();
}

void Dashboard::SampleOnce() {
  ListJobsResponse jobs;
  (void)service_->ListJobs({}, &jobs);  // cannot fail
  const double now = NowUnix();
  absl::MutexLock lock(&mu_);
  for (const JobStatus& job : jobs.jobs()) {
    if (job.state() != RUNNING || !HasLoss(job)) continue;
    Series& series = loss_[job.job_id()];
    started_unix_[job.job_id()] = job.started_unix();
    const double seconds = now - job.started_unix();
    if (!series.empty() && seconds <= series.back().first) continue;
    if (series.size() >= options_.max_points) {
      for (size_t i = 0; 2 * i < series.size(); ++i) series[i] = series[2 * i];
      series.resize((series.size() + 1) / 2);
    }
    series.emplace_back(seconds, job.train_loss());
  }
  while (loss_.size() > options_.max_jobs) {
    auto oldest = started_unix_.begin();
    for (auto it = started_unix_.begin(); it != started_unix_.end(); ++it) {
      if (it->second < oldest->second) oldest = it;
    }
    loss_.erase(oldest->first);
    started_unix_.erase(oldest);
  }
}

Dashboard::Series Dashboard::LossHistory(const std::string& job_id) const {
  absl::MutexLock lock(&mu_);
  auto it = loss_.find(job_id);
  return it == loss_.end() ? Series{} : it->second;
}

HttpReply Dashboard::Page() const { return {200, "text/html; charset=utf-8", kDashboardHtml}; }

HttpReply Dashboard::Summary() {
  ClusterStatus cluster;
  ListJobsResponse jobs;
  (void)service_->GetClusterStatus({}, &cluster);  // neither can fail
  (void)service_->ListJobs({}, &jobs);

  // Which job each worker is in: its running job, else the latest it was in.
  struct Place {
    const JobStatus* job;
    const WorkerProgress* progress;
  };
  std::map<std::string, Place> places;
  std::vector<const JobStatus*> listed;
  json job_rows = json::array();
  for (const JobStatus& job : jobs.jobs()) {
    listed.push_back(&job);
    job_rows.push_back(JobJson(job, LossHistory(job.job_id()), options_.overview_points));
    for (const WorkerProgress& w : job.workers()) {
      auto it = places.find(w.worker_id());
      if (it == places.end() || it->second.job->state() != RUNNING) {
        places[w.worker_id()] = {&job, &w};
      }
    }
  }
  json shards = ShardsOf(service_, listed);

  json servers = json::array();
  json workers = json::array();
  for (const NodeStatus& node : cluster.nodes()) {
    json row = NodeJson(*service_, node);
    if (node.role() == SERVER) {
      int64_t ranges = 0, values = 0;
      for (const json& shard : shards) {
        if (shard["server"] != node.node_id()) continue;
        ++ranges;
        if (shard["kind"] == "dense") values += shard["size"].get<int64_t>();
      }
      row["shards"] = ranges;
      row["dense_values"] = values;
      servers.push_back(std::move(row));
    } else {
      auto it = places.find(node.node_id());
      row["job_id"] = it == places.end() ? json() : json(it->second.job->job_id());
      row["progress"] = it == places.end() ? json() : ProgressJson(*it->second.progress);
      workers.push_back(std::move(row));
    }
  }
  return JsonReply({{"generated_unix", NowUnix()},
                    {"servers", servers},
                    {"workers", workers},
                    {"jobs", job_rows},
                    {"shards", shards}});
}

HttpReply Dashboard::Job(const HttpQuery& query) {
  auto id = query.find("id");
  if (id == query.end() || id->second.empty()) {
    return ErrorReply(400, "missing job id: ask for /api/job?id=JOB (e.g. ?id=job-1)");
  }
  GetJobRequest request;
  request.set_job_id(id->second);
  JobStatus job;
  absl::Status status = service_->GetJob(request, &job);
  if (absl::IsNotFound(status)) return ErrorReply(404, std::string(status.message()));
  if (!status.ok()) return ErrorReply(500, status.ToString());
  json entry = JobJson(job, LossHistory(job.job_id()), /*limit=*/0);
  json workers = json::array();
  for (const WorkerProgress& w : job.workers()) workers.push_back(ProgressJson(w));
  entry["workers"] = std::move(workers);
  entry["shards"] = ShardsOf(service_, {&job});
  return JsonReply(entry);
}

std::vector<HttpStatusServer::Page> DashboardPages(CoordinatorService* service,
                                                   Dashboard::Options options) {
  auto dashboard = std::make_shared<Dashboard>(service, options);
  return {
      {"/", [dashboard](const HttpQuery&) { return dashboard->Page(); }},
      {"/api/dashboard", [dashboard](const HttpQuery&) { return dashboard->Summary(); }},
      {"/api/job", [dashboard](const HttpQuery& query) { return dashboard->Job(query); }},
  };
}

}  // namespace petrel::coordinator

// The coordinator's web dashboard: a self-contained HTML page at "/" and the
// JSON it polls, "/api/dashboard" (nodes, jobs, shard placement and curves)
// and "/api/job?id=JOB" (one job in full, with its whole loss and accuracy
// history). Everything is read through CoordinatorService's public API, so
// serving a page never changes coordinator state and holds its lock only as
// long as any RPC does.
//
// The coordinator keeps each job's test-accuracy history but only the latest
// train loss, so the dashboard samples the loss itself on a thread of its own
// (a bounded series per job). The history therefore covers only what this
// coordinator process saw while the dashboard ran.
#ifndef PETREL_COORDINATOR_DASHBOARD_H_
#define PETREL_COORDINATOR_DASHBOARD_H_

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/daemon/http_status_server.h"
#include "coordinator/coordinator_service.h"

namespace petrel::coordinator {

class Dashboard {
 public:
  struct Options {
    absl::Duration sample_interval = absl::Milliseconds(500);
    // Per job; a full series is thinned to every other point, so a long job
    // keeps its whole shape at a coarser resolution.
    size_t max_points = 2000;
    // Series of the jobs started longest ago are dropped beyond this.
    size_t max_jobs = 64;
    // What /api/dashboard sends per curve (the page's overview); /api/job
    // sends the whole series.
    size_t overview_points = 300;
  };

  // `service` must outlive the dashboard. Starts the loss sampler.
  Dashboard(CoordinatorService* service, Options options);
  ~Dashboard();  // stops the sampler
  Dashboard(const Dashboard&) = delete;
  Dashboard& operator=(const Dashboard&) = delete;

  HttpReply Page() const;
  HttpReply Summary();                    // /api/dashboard
  HttpReply Job(const HttpQuery& query);  // /api/job?id=JOB

 private:
  // (seconds since the job started, mean train loss)
  using Series = std::vector<std::pair<double, double>>;

  // Records one loss point per running job (the sampler's step).
  void SampleOnce();
  Series LossHistory(const std::string& job_id) const;

  CoordinatorService* const service_;
  const Options options_;
  mutable absl::Mutex mu_;
  std::map<std::string, Series> loss_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, double> started_unix_ ABSL_GUARDED_BY(mu_);
  absl::Notification stop_;
  std::thread sampler_;
};

// The dashboard's pages for HttpStatusServer::Options::pages. The handlers
// share ownership of one Dashboard, so it (and its sampler) lives exactly as
// long as the HTTP server that serves it; `service` must outlive that server.
std::vector<HttpStatusServer::Page> DashboardPages(CoordinatorService* service,
                                                   Dashboard::Options options = {});

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_DASHBOARD_H_

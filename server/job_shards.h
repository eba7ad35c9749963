// The shards of one job held by one server: the ranges of its dense tables
// placed here, their optimizer state, and what has been served. Pull and Push
// check the whole request before touching anything, so a bad request changes
// no state.
#ifndef PETREL_SERVER_JOB_SHARDS_H_
#define PETREL_SERVER_JOB_SHARDS_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "nlohmann/json.hpp"
#include "proto/coordinator.pb.h"
#include "proto/parameter.pb.h"
#include "server/optimizer.h"

namespace petrel::server {

class JobShards {
 public:
  // Builds and initialises the ranges of `assignment` that `server_id` holds.
  static absl::StatusOr<std::unique_ptr<JobShards>> Create(const JobAssignment& assignment,
                                                           const std::string& server_id);

  const std::string& job_id() const { return job_id_; }
  JobState state() const;
  void set_state(JobState state);

  absl::Status Pull(const PullRequest& request, PullResponse* response);
  absl::Status Push(const PushRequest& request);

  nlohmann::json StatusJson() const;

 private:
  struct Range {
    int64_t begin = 0;
    int64_t end = 0;
    std::vector<float> values;
    std::vector<float> optimizer_state;
  };
  struct Table {
    int64_t size = 0;
    std::vector<Range> ranges;  // by begin
  };
  // Atomic so that pulls, which only read the tables, can share the lock.
  struct Counters {
    std::atomic<int64_t> pulls{0};
    std::atomic<int64_t> pushes{0};
    std::atomic<int64_t> bytes_in{0};
    std::atomic<int64_t> bytes_out{0};
  };

  JobShards(std::string job_id, std::string server_id, std::unique_ptr<Optimizer> optimizer)
      : job_id_(std::move(job_id)),
        server_id_(std::move(server_id)),
        optimizer_(std::move(optimizer)) {}

  // The held range that contains `slice`, or the error that says why none does.
  absl::StatusOr<Range*> FindRange(const Slice& slice) ABSL_SHARED_LOCKS_REQUIRED(mu_);

  const std::string job_id_;
  const std::string server_id_;
  const std::unique_ptr<Optimizer> optimizer_;

  mutable absl::Mutex mu_;
  JobState state_ ABSL_GUARDED_BY(mu_) = RUNNING;
  std::map<std::string, Table> tables_ ABSL_GUARDED_BY(mu_);
  Counters counters_;
  std::map<std::string, int64_t> worker_clocks_ ABSL_GUARDED_BY(mu_);  // last clock pushed
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_JOB_SHARDS_H_

#include "checkpoint/checkpoint_writer.h"

#include <filesystem>

#include "absl/time/clock.h"
#include "checkpoint/checkpoint_file.h"
#include "spdlog/spdlog.h"

namespace petrel::server {

CheckpointWriter::CheckpointWriter() : thread_([this] { Loop(); }) {}

CheckpointWriter::~CheckpointWriter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void CheckpointWriter::Enqueue(std::string path, ShardCheckpoint checkpoint) {
  absl::MutexLock lock(&mu_);
  queue_.emplace_back(std::move(path), std::move(checkpoint));
}

void CheckpointWriter::Loop() {
  while (true) {
    std::pair<std::string, ShardCheckpoint> next;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](CheckpointWriter* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return w->stopping_ || !w->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping, and nothing left to write
      next = std::move(queue_.front());
      queue_.pop_front();
    }
    const absl::Time start = absl::Now();
    std::error_code error;
    std::filesystem::create_directories(std::filesystem::path(next.first).parent_path(), error);
    absl::Status status = WriteCheckpointFile(next.first, next.second);
    if (!status.ok()) {
      spdlog::error("checkpoint of job {} at clock {} not written: {}", next.second.job_id(),
                    next.second.clock(), status.ToString());
      continue;
    }
    written_clock_ = next.second.clock();
    spdlog::info("checkpoint of job {} group {} at clock {} written to {} in {:.0f} ms",
                 next.second.job_id(), next.second.group(), next.second.clock(), next.first,
                 absl::ToDoubleMilliseconds(absl::Now() - start));
  }
}

}  // namespace petrel::server

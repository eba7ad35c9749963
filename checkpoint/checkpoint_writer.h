// Writes checkpoint files on a thread of its own, so that training never
// waits for the disk: the shards hand over a snapshot (a copy) and go on.
#ifndef PETREL_CHECKPOINT_CHECKPOINT_WRITER_H_
#define PETREL_CHECKPOINT_CHECKPOINT_WRITER_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <string>
#include <thread>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "proto/checkpoint.pb.h"

namespace petrel::server {

class CheckpointWriter {
 public:
  CheckpointWriter();
  ~CheckpointWriter();  // writes what is queued, then stops

  // Queues `checkpoint` to be written to `path` (folders are created).
  void Enqueue(std::string path, ShardCheckpoint checkpoint);
  // The clock of the newest file written (0: none yet).
  int64_t written_clock() const { return written_clock_.load(); }

 private:
  void Loop();

  absl::Mutex mu_;
  std::deque<std::pair<std::string, ShardCheckpoint>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int64_t> written_clock_{0};
  std::thread thread_;
};

}  // namespace petrel::server

#endif  // PETREL_CHECKPOINT_CHECKPOINT_WRITER_H_

// Where a job's checkpoints live on disk, and which of them is whole. A cut
// at clock N is one folder, dir/<job id>/clock-<N, 12 digits>, holding one
// file per shard group, group-<g>.ckpt (server/checkpoint_file.h), written by
// the group's primary. A cut is complete when every group's file is there;
// the servers write them independently, so a crash can leave the newest cut
// incomplete, never a file half-written.
#ifndef PETREL_CHECKPOINT_CHECKPOINT_CUT_H_
#define PETREL_CHECKPOINT_CHECKPOINT_CUT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "proto/job.pb.h"

namespace petrel::server {

std::string CutDirectory(const std::string& dir, const std::string& job_id, int64_t clock);
std::string GroupFile(const std::string& cut_directory, int group);

struct Cut {
  std::string directory;
  int64_t clock = 0;
};

// The newest complete cut of `groups` groups under `path`: a job's checkpoint
// folder (its clock-N folders are searched, newest first) or one clock-N
// folder itself. NOT_FOUND, naming the path, when there is none.
absl::StatusOr<Cut> LatestCompleteCut(const std::string& path, int groups);

// Reads every file of `cut` and checks that it is whole (its checksum), of
// this cut (group, group count, clock) and of `spec`'s model (each range's
// table exists with its size): a corrupt or mismatched cut is refused with an
// error naming the file, before anything is loaded.
absl::Status ValidateCut(const Cut& cut, int groups, const JobSpec& spec);

}  // namespace petrel::server

#endif  // PETREL_CHECKPOINT_CHECKPOINT_CUT_H_

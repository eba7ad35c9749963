#include "checkpoint/checkpoint_cut.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <system_error>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/match.h"
#include "common/jobspec/model_tables.h"
#include "checkpoint/checkpoint_file.h"

namespace petrel::server {
namespace fs = std::filesystem;

std::string CutDirectory(const std::string& dir, const std::string& job_id, int64_t clock) {
  return absl::StrFormat("%s/%s/clock-%012d", dir, job_id, clock);
}

std::string GroupFile(const std::string& cut_directory, int group) {
  return absl::StrCat(cut_directory, "/group-", group, ".ckpt");
}

namespace {

bool Complete(const std::string& directory, int groups) {
  std::error_code error;
  for (int g = 0; g < groups; ++g) {
    if (!fs::is_regular_file(GroupFile(directory, g), error)) return false;
  }
  return true;
}

// The clock of a "clock-N" folder name, or -1.
int64_t ClockOf(const std::string& name) {
  int64_t clock = -1;
  if (!absl::StartsWith(name, "clock-") || !absl::SimpleAtoi(name.substr(6), &clock)) return -1;
  return clock;
}

}  // namespace

absl::StatusOr<Cut> LatestCompleteCut(const std::string& path, int groups) {
  std::error_code error;
  if (!fs::is_directory(path, error)) {
    return absl::NotFoundError(absl::StrCat("checkpoint folder ", path, " does not exist"));
  }
  fs::path normal = fs::path(path).lexically_normal();
  if (normal.filename().empty()) normal = normal.parent_path();  // a trailing '/'
  const int64_t own = ClockOf(normal.filename().string());
  if (own >= 0) {
    if (!Complete(path, groups)) {
      return absl::NotFoundError(absl::StrCat("checkpoint ", path, " is incomplete: it needs ",
                                              groups, " files group-0.ckpt .. group-",
                                              groups - 1, ".ckpt"));
    }
    return Cut{path, own};
  }
  std::map<int64_t, std::string, std::greater<>> cuts;
  for (const auto& entry : fs::directory_iterator(path, error)) {
    const int64_t clock = ClockOf(entry.path().filename().string());
    if (clock >= 0 && entry.is_directory()) cuts[clock] = entry.path().string();
  }
  for (const auto& [clock, directory] : cuts) {
    if (Complete(directory, groups)) return Cut{directory, clock};
  }
  return absl::NotFoundError(absl::StrCat("no complete checkpoint of ", groups,
                                          " shard groups under ", path, " (", cuts.size(),
                                          " clock-N folders found)"));
}

absl::Status ValidateCut(const Cut& cut, int groups, const JobSpec& spec) {
  std::map<std::string, int64_t> sizes;
  for (const DenseTable& table : JobTables(spec)) sizes[table.name()] = TableSize(table);
  for (int g = 0; g < groups; ++g) {
    const std::string file = GroupFile(cut.directory, g);
    absl::StatusOr<ShardCheckpoint> checkpoint = ReadCheckpointFile(file);
    if (!checkpoint.ok()) return checkpoint.status();  // names the file
    auto mismatch = [&](const std::string& what) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint file ", file, " does not fit this job: ", what));
    };
    if (checkpoint->clock() != cut.clock) {
      return mismatch(absl::StrCat("it holds clock ", checkpoint->clock(), ", its folder says ",
                                   cut.clock));
    }
    if (checkpoint->group() != g || checkpoint->groups() != groups) {
      return mismatch(absl::StrCat("it is group ", checkpoint->group(), " of ",
                                   checkpoint->groups(), "; expected group ", g, " of ", groups,
                                   " (cluster.servers must match the checkpointed job's)"));
    }
    for (const RangeState& range : checkpoint->ranges()) {
      auto it = sizes.find(range.table());
      if (it == sizes.end()) return mismatch(absl::StrCat("the model has no table ", range.table()));
      if (range.begin() < 0 || range.end() > it->second || range.begin() >= range.end()) {
        return mismatch(absl::StrCat(range.table(), "[", range.begin(), ", ", range.end(),
                                     ") is outside the model's table of ", it->second));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace petrel::server

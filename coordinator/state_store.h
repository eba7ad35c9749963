// The coordinator's state directory: its jobs (spec, state, placement,
// epochs, workers, checkpoint attempts) and the nodes it knows, in one file
// (state.pb) replaced atomically on every change, so that a coordinator
// killed at any moment restarts with the state of its last answer.
#ifndef PETREL_COORDINATOR_STATE_STORE_H_
#define PETREL_COORDINATOR_STATE_STORE_H_

#include <string>

#include "absl/status/statusor.h"
#include "proto/coordinator.pb.h"

namespace petrel::coordinator {

class StateStore {
 public:
  explicit StateStore(std::string directory) : directory_(std::move(directory)) {}

  // The saved state; an empty one when the directory holds none yet. A file
  // that is damaged is an error naming it (the coordinator refuses to start
  // rather than forget running jobs).
  absl::StatusOr<CoordinatorState> Load() const;
  absl::Status Save(const CoordinatorState& state) const;

  std::string path() const { return directory_ + "/state.pb"; }

 private:
  const std::string directory_;
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_STATE_STORE_H_

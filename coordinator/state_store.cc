#include "coordinator/state_store.h"

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "common/durable_file.h"

namespace petrel::coordinator {
namespace {

constexpr FileFormat kState{"PETRELST", 1, "coordinator state"};

}  // namespace

absl::StatusOr<CoordinatorState> StateStore::Load() const {
  absl::StatusOr<std::string> payload = ReadDurableFile(path(), kState);
  if (absl::IsNotFound(payload.status())) return CoordinatorState();
  if (!payload.ok()) return payload.status();
  CoordinatorState state;
  if (!state.ParseFromString(*payload)) {
    return absl::DataLossError(absl::StrCat("coordinator state file ", path(),
                                            " is refused: the payload does not parse"));
  }
  return state;
}

absl::Status StateStore::Save(const CoordinatorState& state) const {
  std::error_code error;
  std::filesystem::create_directories(directory_, error);
  if (error) {
    return absl::InternalError(
        absl::StrCat("cannot create the state directory ", directory_, ": ", error.message()));
  }
  return WriteDurableFile(path(), kState, state.SerializeAsString());
}

}  // namespace petrel::coordinator

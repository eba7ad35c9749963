// Fuzzes the job-file parser: YAML text -> JobSpec, defaults, validation.
// Invariants: a parsed spec passes ValidateJobSpec; every refusal is
// INVALID_ARGUMENT naming the source, as common/job_file.h promises.
#include <cstddef>
#include <cstdint>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "common/jobspec/job_file.h"
#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<petrel::JobSpec> spec = petrel::ParseJobYaml(text, "fuzz.yaml");
  if (spec.ok()) {
    PETREL_FUZZ_CHECK(petrel::ValidateJobSpec(*spec).ok());
    // What the coordinator receives is the serialized spec: it must read back
    // to a spec that still validates.
    petrel::JobSpec copy;
    PETREL_FUZZ_CHECK(copy.ParseFromString(spec->SerializeAsString()));
    PETREL_FUZZ_CHECK(petrel::ValidateJobSpec(copy).ok());
    petrel::ApplyClusterOverrides(&copy, 1, 1);
    (void)petrel::ValidateJobSpec(copy);
  } else {
    PETREL_FUZZ_CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
    PETREL_FUZZ_CHECK(absl::StartsWith(spec.status().message(), "fuzz.yaml"));
  }
  return 0;
}

// Helpers shared by the job-file tests (testonly).
#ifndef PETREL_COMMON_JOBSPEC_JOB_FILE_TEST_UTIL_H_
#define PETREL_COMMON_JOBSPEC_JOB_FILE_TEST_UTIL_H_

#include <cstdlib>
#include <filesystem>
#include <string>

#include "catch2/catch.hpp"
#include "common/jobspec/job_file.h"

namespace petrel::job_file_test {

// A small valid job; tests below break one line of it at a time.
// Line numbers:      1         2       3          4             5
inline constexpr char kMinimal[] =
    "model:\n"                  // 1
    "  type: mlp\n"             // 2
    "  hidden: [32, 16]\n"      // 3
    "  input_dim: 784\n"        // 4
    "  num_classes: 10\n"       // 5
    "data:\n"                   // 6
    "  path: /tmp/data\n"       // 7
    "optimizer:\n"              // 8
    "  learning_rate: 0.1\n"    // 9
    "training:\n"               // 10
    "  batch_size: 32\n";       // 11

inline std::string Replace(std::string text, const std::string& from,
                    const std::string& to) {
  const size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  text.replace(at, from.size(), to);
  return text;
}

// The error message of parsing `yaml` as "job.yaml", which must fail with
// INVALID_ARGUMENT.
inline std::string ParseError(const std::string& yaml) {
  absl::StatusOr<JobSpec> spec = ParseJobYaml(yaml, "job.yaml");
  REQUIRE_FALSE(spec.ok());
  CHECK(spec.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(spec.status().message());
}

inline std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : std::filesystem::temp_directory_path().string();
}


}  // namespace petrel::job_file_test

#endif  // PETREL_COMMON_JOBSPEC_JOB_FILE_TEST_UTIL_H_

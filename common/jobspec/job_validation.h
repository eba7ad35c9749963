// What a valid JobSpec is, apart from the YAML parsing in job_file.cc: the
// fields a job has, which are required, their defaults, the values each may
// take, and that the data files are there. Include "common/jobspec/job_file.h" (which
// includes this header) for the whole job-file API.
#ifndef PETREL_COMMON_JOBSPEC_JOB_VALIDATION_H_
#define PETREL_COMMON_JOBSPEC_JOB_VALIDATION_H_

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/job.pb.h"

namespace petrel {

// The semantic checks on a complete JobSpec (model types and shapes, the
// optimizer, training and cluster numbers, the device). The coordinator calls
// it on submitted specs, so it checks values only and does not fill in
// defaults. Errors are INVALID_ARGUMENT naming the field path.
absl::Status ValidateJobSpec(const JobSpec& spec);

// The optimizer that updates `table`: its entry in optimizer.per_table (YAML
// "optimizer.tables") if it has one, else the job's top-level optimizer. An
// ensemble member's table "member<k>/<name>" takes the entry for <name>.
// The reference lives as long as `spec`.
const OptimizerSpec& OptimizerFor(const JobSpec& spec, const std::string& table);

// Checks that each data file of data.format (the four IDX files for "idx";
// train_file and test_file for "libsvm") exists under data.path and can be
// read. Otherwise NOT_FOUND naming the missing full paths (and, for the
// Debian dataset directory, the package to install; for the default cache
// directory of tools/fetch_spam_corpus, that script).
absl::Status CheckDataFiles(const JobSpec& spec);

// The rest of the job schema, which the YAML parser in job_file.cc uses and
// nothing else should: the known fields, the required ones, the defaults,
// and the helpers its error messages share with the checks above.
namespace job_file_internal {

// Maps a dotted field path ("training.batch_size", "model.hidden[1]") to the
// prefix of an error about it: "job.yaml:12: " when parsing a file, "" when
// validating a bare JobSpec.
using FieldLocator = std::function<std::string(const std::string& path)>;

// The top-level keys of a job file, and the known fields of each section
// ("model", ..., "output"; not "name", a plain value), in the order the docs
// list them.
const std::vector<std::string>& KnownSections();
const std::map<std::string, std::vector<std::string>>& KnownFields();

// The fields of one entry of optimizer.tables: those of "optimizer" less
// "tables" (entries do not nest).
const std::vector<std::string>& KnownTableOptimizerFields();

// INVALID_ARGUMENT for the first required field (model.type, model.input_dim,
// model.num_classes, data.path, optimizer.learning_rate, training.batch_size,
// and type and learning_rate of each entry of optimizer.tables, which
// inherits nothing from the top-level optimizer) missing from `given`, the
// field paths the file gave a value. `spec` (as parsed) names the entries.
absl::Status CheckRequiredFields(const std::set<std::string>& given,
                                 const JobSpec& spec, const FieldLocator& where);

// Fills in the defaults listed in job_file.h for the fields not in `given`.
// The job name defaults to the stem of `source_name`. Optimizer fields
// default by type, for the top-level block and each optimizer.tables entry
// alike: momentum 0.9 ("momentum"); beta1 0.9, beta2 0.999, epsilon 1e-8
// ("adam"); initial_accumulator_value 0.1, epsilon 1e-10 ("adagrad"); beta 1
// ("ftrl"); everything else 0.
void FillDefaults(const std::set<std::string>& given,
                  absl::string_view source_name, JobSpec* spec);

// The checks of the job's mode and its sections (federated, dp, ensemble)
// and of data.partition: job_mode_validation.cc.
absl::Status CheckModes(const JobSpec& spec, const FieldLocator& where);

// ValidateJobSpec, with each message prefixed by `where(field path)`.
absl::Status CheckJobSpec(const JobSpec& spec, const FieldLocator& where);

// `s` in double quotes, C-escaped, as error messages show values.
std::string Quote(absl::string_view s);

// The entries of optimizer.per_table by name, so that checks and errors come
// in a stable order (proto maps have none).
std::vector<std::string> TableNames(const OptimizerSpec& optimizer);

// "; did you mean "model.hidden"?" when one of `known` is at most two edits
// away from the unknown `key`, else "". `prefix` ("model.") goes before the
// suggested name.
std::string DidYouMean(const std::string& key,
                       const std::vector<std::string>& known,
                       const std::string& prefix);

}  // namespace job_file_internal
}  // namespace petrel

#endif  // PETREL_COMMON_JOBSPEC_JOB_VALIDATION_H_

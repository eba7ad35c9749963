// Job files: the YAML a user writes, turned into the JobSpec proto that the
// coordinator, servers and workers see, and the checks both must pass.
//
// A job file has these sections (every key is the JobSpec field of that name,
// see proto/job.proto and examples/*.yaml):
//
//   name: fashion-mnist-mlp
//   model:      {type, hidden, input_dim, num_classes, initializer, init_scale}
//   data:       {format, path, train_images, train_labels, test_images,
//                test_labels}
//   optimizer:  {type, learning_rate, momentum, weight_decay, beta1, beta2,
//                epsilon, initial_accumulator_value, l1, l2, beta,
//                tables: {TABLE: {an optimizer block}}}
//   training:   {epochs, batch_size, staleness, seed, eval_every_steps,
//                stall_timeout_seconds}
//   cluster:    {servers, workers, replication, device}
//   checkpoint: {dir, every_clocks}
//   output:     {model_path}
//   compression: {type, topk_ratio}
//
// Required: model.type, model.input_dim, model.num_classes, data.path,
// optimizer.learning_rate, training.batch_size.
//
// Defaults, filled in by the parser for keys that are absent or empty (`key:`
// with no value):
//   name                            the stem of the source name ("job" for
//                                   "dir/job.yaml")
//   model.initializer               "glorot_uniform"
//   data.format                     "idx"
//   data.train_images               "train-images-idx3-ubyte.gz"
//   data.train_labels               "train-labels-idx1-ubyte.gz"
//   data.test_images                "t10k-images-idx3-ubyte.gz"
//   data.test_labels                "t10k-labels-idx1-ubyte.gz"
//                                   (Fashion-MNIST's file names)
//   optimizer.type                  "sgd"
//   optimizer.momentum              0.9 when optimizer.type is "momentum",
//                                   else 0
//   optimizer.* of adam, adagrad and ftrl: see common/job_validation.h
//   training.epochs                 1
//   training.staleness              0 (BSP); "async" in YAML is stored as -1
//   training.seed                   1
//   training.eval_every_steps       200
//   training.stall_timeout_seconds  30
//   cluster.servers                 1
//   cluster.workers                 1
//   cluster.replication             1
//   cluster.device                  "auto"
//   compression.type                "none"   ("fp16" | "bf16" | "topk")
//   compression.topk_ratio          0.01     (with type "topk")
// Everything else defaults to the proto's zero value (no checkpoints, no
// weight decay, no model output file).
//
// Errors are INVALID_ARGUMENT with a message of the form
//   job.yaml:12: training.batch_size must be a positive integer, got "abc"
// naming the source, the line and the dotted field path, and saying what a
// valid value looks like.
#ifndef PETREL_COMMON_JOBSPEC_JOB_FILE_H_
#define PETREL_COMMON_JOBSPEC_JOB_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/jobspec/job_validation.h"  // IWYU pragma: export
#include "proto/job.pb.h"

namespace petrel {

// Parses a job file's text, fills in the defaults above and runs
// ValidateJobSpec. `source_name` (usually the file's path) prefixes every
// error message and gives the default job name.
absl::StatusOr<JobSpec> ParseJobYaml(absl::string_view yaml_text,
                                     absl::string_view source_name);

// Reads `path` and parses it as ParseJobYaml does. A missing or unreadable
// file is NOT_FOUND naming the path.
absl::StatusOr<JobSpec> ParseJobFile(const std::string& path);

// ValidateJobSpec(const JobSpec&) and CheckDataFiles(const JobSpec&), the
// semantic checks, are declared in common/job_validation.h, included above.

// Overrides cluster.servers / cluster.workers, as `petrel local --servers
// --workers` do; a value <= 0 leaves the field as it is. Call ValidateJobSpec
// afterwards: fewer servers may fall below cluster.replication.
void ApplyClusterOverrides(JobSpec* spec, int servers, int workers);

}  // namespace petrel

#endif  // PETREL_COMMON_JOBSPEC_JOB_FILE_H_

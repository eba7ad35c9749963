// The job file's vocabulary: the sections and fields it knows, the required
// ones, the defaults the parser fills in, and the wording of suggestions.
// Split from job_validation.cc, which holds the semantic checks.
#include "common/jobspec/job_validation.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/jobspec/model_tables.h"
#include "common/status_macros.h"


namespace petrel {
namespace job_file_internal {
namespace {

int EditDistance(const std::string& a, const std::string& b) {
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    int diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const int above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1,
                         diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}


}  // namespace

const std::vector<std::string>& KnownSections() {
  static const auto* names = new std::vector<std::string>{
      "name",     "model",   "data",       "optimizer",  "training",
      "cluster",  "checkpoint", "output", "compression",
      "mode",     "federated", "dp",    "ensemble"};
  return *names;
}

const std::map<std::string, std::vector<std::string>>& KnownFields() {
  static const auto* fields =
      new std::map<std::string, std::vector<std::string>>{
          {"model",
           {"type", "hidden", "input_dim", "num_classes", "initializer",
            "init_scale", "max_rows"}},
          {"data",
           {"format", "path", "train_images", "train_labels", "test_images",
            "test_labels", "train_file", "test_file", "partition",
            "classes_per_worker"}},
          {"optimizer",
           {"type", "learning_rate", "momentum", "weight_decay", "beta1",
            "beta2", "epsilon", "initial_accumulator_value", "l1", "l2",
            "beta", "tables"}},
          {"training",
           {"epochs", "batch_size", "staleness", "seed", "eval_every_steps",
            "stall_timeout_seconds", "allow_tf32"}},
          {"cluster", {"servers", "workers", "replication", "device"}},
          {"checkpoint", {"dir", "every_clocks", "resume_from"}},
          {"output", {"model_path"}},
          {"compression", {"type", "topk_ratio"}},
          {"federated",
           {"rounds", "local_epochs", "client_fraction",
            "round_deadline_seconds", "client_learning_rate",
            "secure_aggregation"}},
          {"dp", {"clip_norm", "noise_multiplier", "delta"}},
          {"ensemble", {"members"}},
      };
  return *fields;
}

const std::vector<std::string>& KnownTableOptimizerFields() {
  static const auto* fields = [] {
    auto* names = new std::vector<std::string>(KnownFields().at("optimizer"));
    names->erase(std::remove(names->begin(), names->end(), "tables"),
                 names->end());
    return names;
  }();
  return *fields;
}

absl::Status CheckRequiredFields(const std::set<std::string>& given,
                                 const JobSpec& spec, const FieldLocator& where) {
  static const auto* required =
      new std::vector<std::pair<std::string, std::string>>{
          {"model.type", "type: mlp"},
          {"model.input_dim", "input_dim: 784"},
          {"model.num_classes", "num_classes: 10"},
          {"data.path", "path: /usr/share/datasets/fashion-mnist"},
          {"optimizer.learning_rate", "learning_rate: 0.05"},
          {"training.batch_size", "batch_size: 64"},
      };
  for (const auto& [path, example] : *required) {
    if (given.count(path)) continue;
    const std::string section = path.substr(0, path.find('.'));
    return absl::InvalidArgumentError(absl::StrCat(
        where(path), "missing required field ", Quote(path), " (add e.g. ",
        Quote(example), " under \"", section, ":\")"));
  }
  for (const std::string& name : TableNames(spec.optimizer())) {
    const std::string entry = absl::StrCat("optimizer.tables.", name);
    for (const char* field : {"type", "learning_rate"}) {
      const std::string path = absl::StrCat(entry, ".", field);
      if (given.count(path)) continue;
      return absl::InvalidArgumentError(absl::StrCat(
          where(path), "missing required field ", Quote(path),
          " (a table's optimizer inherits nothing from the top-level one; "
          "give e.g. \"type: sgd\" and \"learning_rate: 0.05\" under \"",
          name, ":\")"));
    }
  }
  return absl::OkStatus();
}

namespace {

// The defaults that depend on the optimizer's type, for the block at `prefix`.
void FillOptimizerDefaults(const std::set<std::string>& given,
                           const std::string& prefix, OptimizerSpec* o) {
  auto unset = [&](const char* field) {
    return given.count(absl::StrCat(prefix, ".", field)) == 0;
  };
  if (o->type() == "momentum" && unset("momentum")) o->set_momentum(0.9f);
  if (o->type() == "adam") {
    if (unset("beta1")) o->set_beta1(0.9f);
    if (unset("beta2")) o->set_beta2(0.999f);
    if (unset("epsilon")) o->set_epsilon(1e-8f);
  }
  if (o->type() == "adagrad") {
    if (unset("initial_accumulator_value")) {
      o->set_initial_accumulator_value(0.1f);
    }
    if (unset("epsilon")) o->set_epsilon(1e-10f);
  }
  if (o->type() == "ftrl" && unset("beta")) o->set_beta(1.0f);
}

}  // namespace

void FillDefaults(const std::set<std::string>& given,
                  absl::string_view source_name, JobSpec* spec) {
  auto unset = [&given](const char* path) { return given.count(path) == 0; };
  if (unset("name") || spec->name().empty()) {
    std::string stem =
        std::filesystem::path(std::string(source_name)).stem().string();
    spec->set_name(stem.empty() ? "job" : stem);
  }
  ModelSpec* model = spec->mutable_model();
  if (unset("model.initializer")) model->set_initializer("glorot_uniform");
  DataSpec* data = spec->mutable_data();
  if (unset("data.format")) data->set_format("idx");
  // Only the chosen format's file names get defaults: the other format's
  // stay empty (CheckJobSpec refuses them when set).
  if (data->format() == "idx") {
    if (unset("data.train_images")) {
      data->set_train_images("train-images-idx3-ubyte.gz");
    }
    if (unset("data.train_labels")) {
      data->set_train_labels("train-labels-idx1-ubyte.gz");
    }
    if (unset("data.test_images")) {
      data->set_test_images("t10k-images-idx3-ubyte.gz");
    }
    if (unset("data.test_labels")) {
      data->set_test_labels("t10k-labels-idx1-ubyte.gz");
    }
  }
  if (data->format() == "libsvm") {
    if (unset("data.train_file")) data->set_train_file("train.libsvm");
    if (unset("data.test_file")) data->set_test_file("test.libsvm");
  }
  if (unset("data.partition")) data->set_partition("iid");
  if (data->partition() == "by_label" && unset("data.classes_per_worker")) {
    data->set_classes_per_worker(2);
  }
  OptimizerSpec* optimizer = spec->mutable_optimizer();
  if (unset("optimizer.type")) optimizer->set_type("sgd");
  FillOptimizerDefaults(given, "optimizer", optimizer);
  for (auto& [name, entry] : *optimizer->mutable_per_table()) {
    FillOptimizerDefaults(given, absl::StrCat("optimizer.tables.", name),
                          &entry);
  }
  TrainingSpec* training = spec->mutable_training();
  if (unset("training.epochs")) training->set_epochs(1);
  if (unset("training.staleness")) training->set_staleness(0);
  if (unset("training.seed")) training->set_seed(1);
  if (unset("training.eval_every_steps")) training->set_eval_every_steps(200);
  if (unset("training.stall_timeout_seconds")) {
    training->set_stall_timeout_seconds(30);
  }
  ClusterSpec* cluster = spec->mutable_cluster();
  if (unset("cluster.servers")) cluster->set_servers(1);
  if (unset("cluster.workers")) cluster->set_workers(1);
  if (unset("cluster.replication")) cluster->set_replication(1);
  if (unset("cluster.device")) cluster->set_device("auto");
  if (unset("mode")) spec->set_mode("sync");
  // A mode's own section gets its defaults only in that mode, so that a
  // section given in the wrong mode is still seen (and refused) as given.
  if (spec->mode() == "federated") {
    FederatedSpec* federated = spec->mutable_federated();
    if (unset("federated.rounds")) federated->set_rounds(20);
    if (unset("federated.local_epochs")) federated->set_local_epochs(1);
    if (unset("federated.client_fraction")) federated->set_client_fraction(1);
    if (unset("federated.round_deadline_seconds")) {
      federated->set_round_deadline_seconds(60);
    }
    if (unset("federated.client_learning_rate")) {
      federated->set_client_learning_rate(0.05f);
    }
  }
  if (spec->has_dp() && unset("dp.delta")) spec->mutable_dp()->set_delta(1e-5);
  CompressionSpec* compression = spec->mutable_compression();
  if (unset("compression.type")) compression->set_type("none");
  if (compression->type() == "topk" && unset("compression.topk_ratio")) {
    compression->set_topk_ratio(0.01);
  }
}

std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", absl::CEscape(s), "\"");
}

std::string DidYouMean(const std::string& key,
                       const std::vector<std::string>& known,
                       const std::string& prefix) {
  const std::string* best = nullptr;
  int best_distance = 3;  // at most two edits away
  for (const std::string& name : known) {
    const int d = EditDistance(key, name);
    if (d < best_distance) {
      best_distance = d;
      best = &name;
    }
  }
  if (best == nullptr) return "";
  return absl::StrCat("; did you mean ", Quote(prefix + *best), "?");
}

}  // namespace job_file_internal
}  // namespace petrel

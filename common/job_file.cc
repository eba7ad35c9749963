#include "common/job_file.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace petrel {
namespace {

constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

const std::vector<std::string>& SectionNames() {
  static const auto* names = new std::vector<std::string>{
      "name",     "model",   "data",       "optimizer",
      "training", "cluster", "checkpoint", "output"};
  return *names;
}

// The known fields of each section, in the order the docs list them.
const std::map<std::string, std::vector<std::string>>& SectionFields() {
  static const auto* fields =
      new std::map<std::string, std::vector<std::string>>{
          {"model",
           {"type", "hidden", "input_dim", "num_classes", "initializer",
            "init_scale"}},
          {"data",
           {"format", "path", "train_images", "train_labels", "test_images",
            "test_labels"}},
          {"optimizer", {"type", "learning_rate", "momentum", "weight_decay"}},
          {"training",
           {"epochs", "batch_size", "staleness", "seed", "eval_every_steps",
            "stall_timeout_seconds"}},
          {"cluster", {"servers", "workers", "replication", "device"}},
          {"checkpoint", {"dir", "every_clocks"}},
          {"output", {"model_path"}},
      };
  return *fields;
}

std::string Quote(absl::string_view s) {
  return absl::StrCat("\"", absl::CEscape(s), "\"");
}

// ---------------------------------------------------------------------------
// Semantic checks, shared by ValidateJobSpec (no lines) and ParseJobYaml
// (`where` maps a field path to "source:line: ").

using WhereFn = std::function<std::string(const std::string& path)>;

class SpecChecker {
 public:
  explicit SpecChecker(WhereFn where) : where_(std::move(where)) {}

  absl::Status Check(const JobSpec& spec) {
    PETREL_RETURN_IF_ERROR(CheckModel(spec.model()));
    if (spec.data().format() != "idx") {
      return Error("data.format", absl::StrCat("data.format must be \"idx\", got ",
                                               Quote(spec.data().format())));
    }
    PETREL_RETURN_IF_ERROR(CheckOptimizer(spec.optimizer()));
    PETREL_RETURN_IF_ERROR(CheckTraining(spec.training()));
    PETREL_RETURN_IF_ERROR(CheckCluster(spec.cluster()));
    const CheckpointSpec& ckpt = spec.checkpoint();
    if (ckpt.every_clocks() < 0) {
      return Error("checkpoint.every_clocks",
                   absl::StrCat("checkpoint.every_clocks must be a non-negative "
                                "integer (0 = no checkpoints), got ",
                                ckpt.every_clocks()));
    }
    if (ckpt.every_clocks() > 0 && ckpt.dir().empty()) {
      return Error("checkpoint.dir",
                   "checkpoint.dir must name a directory when "
                   "checkpoint.every_clocks is positive");
    }
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const std::string& path, absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(where_(path), message));
  }

  absl::Status Positive(const std::string& path, int64_t value) {
    if (value >= 1) return absl::OkStatus();
    return Error(path,
                 absl::StrCat(path, " must be a positive integer, got ", value));
  }

  absl::Status CheckModel(const ModelSpec& m) {
    if (m.type() != "softmax" && m.type() != "mlp") {
      return Error("model.type",
                   absl::StrCat("model.type must be \"softmax\" or \"mlp\", got ",
                                Quote(m.type())));
    }
    if (m.type() == "softmax" && m.hidden_size() > 0) {
      return Error("model.hidden",
                   absl::StrCat("model.hidden must be empty for model.type "
                                "\"softmax\" (remove it, or use type \"mlp\"), "
                                "got ",
                                m.hidden_size(), " hidden layer(s)"));
    }
    if (m.type() == "mlp" && m.hidden_size() == 0) {
      return Error("model.hidden",
                   "model.hidden must list at least one layer width for "
                   "model.type \"mlp\", e.g. \"hidden: [256]\"");
    }
    PETREL_RETURN_IF_ERROR(Positive("model.input_dim", m.input_dim()));
    PETREL_RETURN_IF_ERROR(Positive("model.num_classes", m.num_classes()));
    for (int i = 0; i < m.hidden_size(); ++i) {
      PETREL_RETURN_IF_ERROR(
          Positive(absl::StrCat("model.hidden[", i, "]"), m.hidden(i)));
    }
    const std::string& init = m.initializer();
    if (init != "glorot_uniform" && init != "normal" && init != "zeros") {
      return Error("model.initializer",
                   absl::StrCat("model.initializer must be \"glorot_uniform\", "
                                "\"normal\" or \"zeros\", got ",
                                Quote(init)));
    }
    if (!std::isfinite(m.init_scale()) || m.init_scale() < 0) {
      return Error("model.init_scale",
                   absl::StrCat("model.init_scale must be a non-negative "
                                "number, got ",
                                m.init_scale()));
    }
    if (init == "normal" && m.init_scale() <= 0) {
      return Error("model.init_scale",
                   "model.init_scale must be positive for model.initializer "
                   "\"normal\" (it is the standard deviation), e.g. "
                   "\"init_scale: 0.01\"");
    }
    return absl::OkStatus();
  }

  absl::Status CheckOptimizer(const OptimizerSpec& o) {
    if (o.type() != "sgd" && o.type() != "momentum") {
      return Error("optimizer.type",
                   absl::StrCat("optimizer.type must be \"sgd\" or "
                                "\"momentum\", got ",
                                Quote(o.type())));
    }
    if (!std::isfinite(o.learning_rate()) || !(o.learning_rate() > 0)) {
      return Error("optimizer.learning_rate",
                   absl::StrCat("optimizer.learning_rate must be a positive "
                                "number, e.g. 0.05, got ",
                                o.learning_rate()));
    }
    if (!(o.momentum() >= 0 && o.momentum() < 1)) {
      return Error("optimizer.momentum",
                   absl::StrCat("optimizer.momentum must be in [0, 1), e.g. "
                                "0.9, got ",
                                o.momentum()));
    }
    if (!std::isfinite(o.weight_decay()) || !(o.weight_decay() >= 0)) {
      return Error("optimizer.weight_decay",
                   absl::StrCat("optimizer.weight_decay must be a "
                                "non-negative number, got ",
                                o.weight_decay()));
    }
    return absl::OkStatus();
  }

  absl::Status CheckTraining(const TrainingSpec& t) {
    PETREL_RETURN_IF_ERROR(Positive("training.epochs", t.epochs()));
    PETREL_RETURN_IF_ERROR(Positive("training.batch_size", t.batch_size()));
    if (t.staleness() < -1) {
      return Error("training.staleness",
                   absl::StrCat("training.staleness must be a non-negative "
                                "integer (0 = BSP, k = SSP(k)) or -1 (async), "
                                "got ",
                                t.staleness()));
    }
    PETREL_RETURN_IF_ERROR(
        Positive("training.eval_every_steps", t.eval_every_steps()));
    if (!std::isfinite(t.stall_timeout_seconds()) ||
        !(t.stall_timeout_seconds() > 0)) {
      return Error("training.stall_timeout_seconds",
                   absl::StrCat("training.stall_timeout_seconds must be a "
                                "positive number of seconds, got ",
                                t.stall_timeout_seconds()));
    }
    return absl::OkStatus();
  }

  absl::Status CheckCluster(const ClusterSpec& c) {
    PETREL_RETURN_IF_ERROR(Positive("cluster.servers", c.servers()));
    PETREL_RETURN_IF_ERROR(Positive("cluster.workers", c.workers()));
    if (c.replication() < 1 || c.replication() > c.servers()) {
      return Error("cluster.replication",
                   absl::StrCat("cluster.replication must be between 1 and "
                                "cluster.servers (",
                                c.servers(), "), got ", c.replication()));
    }
    const std::string& device = c.device();
    bool ok = device == "auto" || device == "cpu";
    if (absl::StartsWith(device, "cuda:")) {
      const std::string index = device.substr(5);
      int n = 0;
      ok = !index.empty() &&
           std::all_of(index.begin(), index.end(),
                       [](char ch) { return ch >= '0' && ch <= '9'; }) &&
           absl::SimpleAtoi(index, &n);
    }
    if (!ok) {
      return Error("cluster.device",
                   absl::StrCat("cluster.device must be \"auto\", \"cpu\" or "
                                "\"cuda:N\" (e.g. \"cuda:0\"), got ",
                                Quote(device)));
    }
    return absl::OkStatus();
  }

  WhereFn where_;
};

// ---------------------------------------------------------------------------
// YAML -> JobSpec.

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

// "; did you mean "model.hidden"?" when one known name is close to `key`.
std::string Suggestion(const std::string& key,
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

// How a non-scalar value is described in "got ..." messages.
std::string Describe(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return Quote(node.Scalar());
}

// Gives a parsed value to a proto setter unless parsing failed.
template <typename T, typename Setter>
absl::Status SetIfOk(absl::StatusOr<T> value, Setter set) {
  if (!value.ok()) return value.status();
  set(*value);
  return absl::OkStatus();
}

constexpr char kPositiveInt[] = "a positive integer";
constexpr char kNonNegativeInt[] = "a non-negative integer";

using FieldFn = std::function<absl::Status(
    const std::string& key, const YAML::Node& value, const std::string& path)>;

class JobYamlParser {
 public:
  explicit JobYamlParser(absl::string_view source) : source_(source) {}

  absl::StatusOr<JobSpec> Parse(absl::string_view text) {
    YAML::Node root;
    try {
      root = YAML::Load(std::string(text));
    } catch (const YAML::Exception& e) {
      return ErrorAt(e.mark.is_null() ? 0 : e.mark.line + 1,
                     absl::StrCat("invalid YAML: ", e.msg));
    }
    root_line_ = std::max(1, LineOf(root));
    JobSpec spec;
    PETREL_RETURN_IF_ERROR(ParseSections(root, &spec));
    PETREL_RETURN_IF_ERROR(CheckRequired());
    FillDefaults(&spec);
    SpecChecker checker(
        [this](const std::string& path) { return Where(path); });
    PETREL_RETURN_IF_ERROR(checker.Check(spec));
    return spec;
  }

 private:
  static int LineOf(const YAML::Node& node) {
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? 0 : mark.line + 1;
  }

  absl::Status ErrorAt(int line, absl::string_view message) const {
    if (line <= 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(source_, ": ", message));
    }
    return absl::InvalidArgumentError(
        absl::StrCat(source_, ":", line, ": ", message));
  }

  absl::Status ErrorAt(const YAML::Node& node, absl::string_view message) {
    return ErrorAt(LineOf(node), message);
  }

  // "source:line: " for a field path: the line of the field itself, else of
  // the nearest enclosing field or section that the file has, else of the
  // document.
  std::string Where(std::string path) const {
    while (true) {
      auto it = lines_.find(path);
      if (it != lines_.end() && it->second > 0) {
        return absl::StrCat(source_, ":", it->second, ": ");
      }
      const size_t cut = path.find_last_of(".[");
      if (cut == std::string::npos) break;
      path.resize(cut);
    }
    return absl::StrCat(source_, ":", root_line_, ": ");
  }

  // Walks the mapping `node` (the section at `path`, or the whole file when
  // `path` is empty): refuses unknown and repeated keys, records each key's
  // line and calls `on_field` for each key that has a value. A key with no
  // value (`key:`) counts as absent.
  absl::Status ForEachField(const YAML::Node& node, const std::string& path,
                            const std::vector<std::string>& known,
                            const FieldFn& on_field) {
    if (node.IsNull()) return absl::OkStatus();
    if (!node.IsMap()) {
      if (path.empty()) {
        return ErrorAt(node,
                       absl::StrCat("a job file must be a mapping of sections "
                                    "such as \"model:\" and \"training:\", "
                                    "got ",
                                    Describe(node)));
      }
      return ErrorAt(node, absl::StrCat(path,
                                        " must be a mapping of fields, one "
                                        "\"key: value\" per line under \"",
                                        path, ":\", got ", Describe(node)));
    }
    const std::string prefix = path.empty() ? "" : path + ".";
    std::map<std::string, int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node& key_node = it->first;
      const YAML::Node& value = it->second;
      if (!key_node.IsScalar()) {
        return ErrorAt(key_node, absl::StrCat("keys of ",
                                              path.empty() ? "a job file" : path,
                                              " must be plain names, got ",
                                              Describe(key_node)));
      }
      const std::string key = key_node.Scalar();
      const std::string field = prefix + key;
      const int line = LineOf(key_node);
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        if (path.empty()) {
          return ErrorAt(line, absl::StrCat("unknown section ", Quote(key),
                                            " (known sections: ",
                                            absl::StrJoin(known, ", "), ")",
                                            Suggestion(key, known, "")));
        }
        return ErrorAt(line, absl::StrCat("unknown field ", Quote(field),
                                          " (known fields of ", path, ": ",
                                          absl::StrJoin(known, ", "), ")",
                                          Suggestion(key, known, prefix)));
      }
      auto [previous, inserted] = seen.emplace(key, line);
      if (!inserted) {
        return ErrorAt(line, absl::StrCat(Quote(field),
                                          " is given twice (first on line ",
                                          previous->second,
                                          "); keep one of them"));
      }
      lines_[field] = line;
      if (value.IsNull()) continue;
      set_.insert(field);
      PETREL_RETURN_IF_ERROR(on_field(key, value, field));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<std::string> String(const YAML::Node& node,
                                     const std::string& path) {
    if (!node.IsScalar()) {
      return ErrorAt(node, absl::StrCat(path, " must be a string, got ",
                                        Describe(node)));
    }
    return node.Scalar();
  }

  absl::StatusOr<int32_t> Int32(const YAML::Node& node,
                                const std::string& path,
                                absl::string_view expected) {
    int32_t value = 0;
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value)) {
      return ErrorAt(node, absl::StrCat(path, " must be ", expected, ", got ",
                                        Describe(node)));
    }
    return value;
  }

  absl::StatusOr<uint64_t> Uint64(const YAML::Node& node,
                                  const std::string& path) {
    uint64_t value = 0;
    if (!node.IsScalar() || absl::StrContains(node.Scalar(), '-') ||
        !absl::SimpleAtoi(node.Scalar(), &value)) {
      return ErrorAt(node, absl::StrCat(path, " must be ", kNonNegativeInt,
                                        ", got ", Describe(node)));
    }
    return value;
  }

  absl::StatusOr<double> Number(const YAML::Node& node,
                                const std::string& path,
                                absl::string_view expected) {
    double value = 0;
    if (!node.IsScalar() || !absl::SimpleAtod(node.Scalar(), &value)) {
      return ErrorAt(node, absl::StrCat(path, " must be ", expected, ", got ",
                                        Describe(node)));
    }
    return value;
  }

  absl::Status Hidden(const YAML::Node& node, const std::string& path,
                      ModelSpec* model) {
    if (!node.IsSequence()) {
      return ErrorAt(node, absl::StrCat(path,
                                        " must be a list of layer widths, "
                                        "e.g. [256, 128], got ",
                                        Describe(node)));
    }
    model->clear_hidden();
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string element = absl::StrCat(path, "[", i, "]");
      lines_[element] = LineOf(node[i]);
      PETREL_ASSIGN_OR_RETURN(int32_t width,
                              Int32(node[i], element, kPositiveInt));
      model->add_hidden(width);
    }
    return absl::OkStatus();
  }

  absl::Status Staleness(const YAML::Node& node, const std::string& path,
                         TrainingSpec* training) {
    int32_t value = 0;
    if (node.IsScalar() && node.Scalar() == "async") {
      training->set_staleness(-1);
      return absl::OkStatus();
    }
    if (!node.IsScalar() || !absl::SimpleAtoi(node.Scalar(), &value) ||
        value < 0) {
      return ErrorAt(node, absl::StrCat(path,
                                        " must be a non-negative integer "
                                        "(0 = BSP, k = SSP(k)) or \"async\", "
                                        "got ",
                                        Describe(node)));
    }
    training->set_staleness(value);
    return absl::OkStatus();
  }

  absl::Status ParseSections(const YAML::Node& root, JobSpec* spec) {
    const auto& fields = SectionFields();
    return ForEachField(
        root, "", SectionNames(),
        [&](const std::string& key, const YAML::Node& value,
            const std::string& path) -> absl::Status {
          if (key == "name") {
            return SetIfOk(String(value, path),
                           [spec](std::string s) { spec->set_name(s); });
          }
          const std::vector<std::string>& known = fields.at(key);
          if (key == "model") {
            return ForEachField(value, path, known,
                                [&](auto& k, auto& v, auto& p) {
                                  return ModelField(k, v, p,
                                                    spec->mutable_model());
                                });
          }
          if (key == "data") {
            return ForEachField(value, path, known,
                                [&](auto& k, auto& v, auto& p) {
                                  return DataField(k, v, p,
                                                   spec->mutable_data());
                                });
          }
          if (key == "optimizer") {
            return ForEachField(value, path, known,
                                [&](auto& k, auto& v, auto& p) {
                                  return OptimizerField(
                                      k, v, p, spec->mutable_optimizer());
                                });
          }
          if (key == "training") {
            return ForEachField(value, path, known,
                                [&](auto& k, auto& v, auto& p) {
                                  return TrainingField(
                                      k, v, p, spec->mutable_training());
                                });
          }
          if (key == "cluster") {
            return ForEachField(value, path, known,
                                [&](auto& k, auto& v, auto& p) {
                                  return ClusterField(k, v, p,
                                                      spec->mutable_cluster());
                                });
          }
          if (key == "checkpoint") {
            return ForEachField(
                value, path, known, [&](auto& k, auto& v, auto& p) {
                  CheckpointSpec* c = spec->mutable_checkpoint();
                  if (k == "dir") {
                    return SetIfOk(String(v, p),
                                   [c](std::string s) { c->set_dir(s); });
                  }
                  return SetIfOk(Int32(v, p, kNonNegativeInt),
                                 [c](int32_t x) { c->set_every_clocks(x); });
                });
          }
          // output
          return ForEachField(
              value, path, known, [&](auto&, auto& v, auto& p) {
                OutputSpec* o = spec->mutable_output();
                return SetIfOk(String(v, p),
                               [o](std::string s) { o->set_model_path(s); });
              });
        });
  }

  absl::Status ModelField(const std::string& key, const YAML::Node& v,
                          const std::string& p, ModelSpec* m) {
    if (key == "type") {
      return SetIfOk(String(v, p), [m](std::string s) { m->set_type(s); });
    }
    if (key == "hidden") return Hidden(v, p, m);
    if (key == "input_dim") {
      return SetIfOk(Int32(v, p, kPositiveInt),
                     [m](int32_t x) { m->set_input_dim(x); });
    }
    if (key == "num_classes") {
      return SetIfOk(Int32(v, p, kPositiveInt),
                     [m](int32_t x) { m->set_num_classes(x); });
    }
    if (key == "initializer") {
      return SetIfOk(String(v, p),
                     [m](std::string s) { m->set_initializer(s); });
    }
    return SetIfOk(Number(v, p, "a non-negative number, e.g. 0.01"),
                   [m](double x) { m->set_init_scale(x); });
  }

  absl::Status DataField(const std::string& key, const YAML::Node& v,
                         const std::string& p, DataSpec* d) {
    absl::StatusOr<std::string> s = String(v, p);
    if (!s.ok()) return s.status();
    if (key == "format") d->set_format(*s);
    if (key == "path") d->set_path(*s);
    if (key == "train_images") d->set_train_images(*s);
    if (key == "train_labels") d->set_train_labels(*s);
    if (key == "test_images") d->set_test_images(*s);
    if (key == "test_labels") d->set_test_labels(*s);
    return absl::OkStatus();
  }

  absl::Status OptimizerField(const std::string& key, const YAML::Node& v,
                              const std::string& p, OptimizerSpec* o) {
    if (key == "type") {
      return SetIfOk(String(v, p), [o](std::string s) { o->set_type(s); });
    }
    if (key == "learning_rate") {
      return SetIfOk(Number(v, p, "a positive number, e.g. 0.05"),
                     [o](double x) { o->set_learning_rate(x); });
    }
    if (key == "momentum") {
      return SetIfOk(Number(v, p, "a number in [0, 1), e.g. 0.9"),
                     [o](double x) { o->set_momentum(x); });
    }
    return SetIfOk(Number(v, p, "a non-negative number, e.g. 0.0001"),
                   [o](double x) { o->set_weight_decay(x); });
  }

  absl::Status TrainingField(const std::string& key, const YAML::Node& v,
                             const std::string& p, TrainingSpec* t) {
    if (key == "epochs") {
      return SetIfOk(Int32(v, p, kPositiveInt),
                     [t](int32_t x) { t->set_epochs(x); });
    }
    if (key == "batch_size") {
      return SetIfOk(Int32(v, p, kPositiveInt),
                     [t](int32_t x) { t->set_batch_size(x); });
    }
    if (key == "staleness") return Staleness(v, p, t);
    if (key == "seed") {
      return SetIfOk(Uint64(v, p), [t](uint64_t x) { t->set_seed(x); });
    }
    if (key == "eval_every_steps") {
      return SetIfOk(Int32(v, p, kPositiveInt),
                     [t](int32_t x) { t->set_eval_every_steps(x); });
    }
    return SetIfOk(Number(v, p, "a positive number of seconds, e.g. 30"),
                   [t](double x) { t->set_stall_timeout_seconds(x); });
  }

  absl::Status ClusterField(const std::string& key, const YAML::Node& v,
                            const std::string& p, ClusterSpec* c) {
    if (key == "device") {
      return SetIfOk(String(v, p), [c](std::string s) { c->set_device(s); });
    }
    return SetIfOk(Int32(v, p, kPositiveInt), [c, &key](int32_t x) {
      if (key == "servers") c->set_servers(x);
      if (key == "workers") c->set_workers(x);
      if (key == "replication") c->set_replication(x);
    });
  }

  absl::Status CheckRequired() const {
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
      if (set_.count(path)) continue;
      const std::string section = path.substr(0, path.find('.'));
      return absl::InvalidArgumentError(absl::StrCat(
          Where(path), "missing required field ", Quote(path), " (add e.g. ",
          Quote(example), " under \"", section, ":\")"));
    }
    return absl::OkStatus();
  }

  void FillDefaults(JobSpec* spec) const {
    auto unset = [this](const char* path) { return set_.count(path) == 0; };
    if (unset("name") || spec->name().empty()) {
      std::string stem =
          std::filesystem::path(std::string(source_)).stem().string();
      spec->set_name(stem.empty() ? "job" : stem);
    }
    ModelSpec* model = spec->mutable_model();
    if (unset("model.initializer")) model->set_initializer("glorot_uniform");
    DataSpec* data = spec->mutable_data();
    if (unset("data.format")) data->set_format("idx");
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
    OptimizerSpec* optimizer = spec->mutable_optimizer();
    if (unset("optimizer.type")) optimizer->set_type("sgd");
    if (optimizer->type() == "momentum" && unset("optimizer.momentum")) {
      optimizer->set_momentum(0.9f);
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
  }

  const std::string source_;
  int root_line_ = 1;
  std::map<std::string, int> lines_;  // field path -> 1-based line
  std::set<std::string> set_;         // field paths given a value
};

}  // namespace

absl::StatusOr<JobSpec> ParseJobYaml(absl::string_view yaml_text,
                                     absl::string_view source_name) {
  try {
    return JobYamlParser(source_name).Parse(yaml_text);
  } catch (const std::exception& e) {
    // yaml-cpp throws on conversions we do not expect to reach; keep
    // exceptions from crossing the module boundary.
    return absl::InvalidArgumentError(
        absl::StrCat(source_name, ": cannot read job file: ", e.what()));
  }
}

absl::StatusOr<JobSpec> ParseJobFile(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return absl::NotFoundError(
        absl::StrCat("job file ", Quote(path), " is a directory"));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read job file ",
                                            Quote(path), ": ",
                                            std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return absl::NotFoundError(
        absl::StrCat("cannot read job file ", Quote(path)));
  }
  return ParseJobYaml(text.str(), path);
}

absl::Status ValidateJobSpec(const JobSpec& spec) {
  return SpecChecker([](const std::string&) { return std::string(); })
      .Check(spec);
}

absl::Status CheckDataFiles(const JobSpec& spec) {
  const DataSpec& data = spec.data();
  const std::pair<const char*, const std::string*> files[] = {
      {"train_images", &data.train_images()},
      {"train_labels", &data.train_labels()},
      {"test_images", &data.test_images()},
      {"test_labels", &data.test_labels()},
  };
  std::vector<std::string> missing;
  for (const auto& [field, name] : files) {
    const std::filesystem::path full =
        std::filesystem::path(data.path()) / *name;
    if (name->empty()) {
      missing.push_back(absl::StrCat("data.", field, " (empty)"));
      continue;
    }
    std::error_code ec;
    std::ifstream in(full, std::ios::binary);
    if (!std::filesystem::is_regular_file(full, ec) || !in) {
      missing.push_back(
          absl::StrCat(Quote(full.string()), " (data.", field, ")"));
    }
  }
  if (missing.empty()) return absl::OkStatus();
  std::string message =
      absl::StrCat("data file", missing.size() > 1 ? "s" : "",
                   " not found or unreadable: ", absl::StrJoin(missing, ", "));
  std::string dir = data.path();
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir == kFashionMnistDir) {
    absl::StrAppend(&message,
                    "; install Debian's package dataset-fashion-mnist "
                    "(tools/setup does)");
  } else {
    absl::StrAppend(&message, "; check data.path (", Quote(data.path()),
                    ") and the data file names");
  }
  return absl::NotFoundError(message);
}

void ApplyClusterOverrides(JobSpec* spec, int servers, int workers) {
  if (servers > 0) spec->mutable_cluster()->set_servers(servers);
  if (workers > 0) spec->mutable_cluster()->set_workers(workers);
}

}  // namespace petrel

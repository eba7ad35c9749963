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
namespace {

constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";
// Where tools/fetch_spam_corpus puts its libsvm files by default
// (~/.cache/petrel/spam-assassin/libsvm); matched as a path suffix.
constexpr char kSpamCorpusCacheDir[] = "/.cache/petrel/spam-assassin";

// The data format each model type reads.
const char* FormatFor(const std::string& model_type) {
  return model_type == "sparse_logistic" ? "libsvm" : "idx";
}

// The data file fields of a format, as (YAML key, value) pairs.
std::vector<std::pair<const char*, const std::string*>> DataFiles(
    const DataSpec& data) {
  if (data.format() == "libsvm") {
    return {{"train_file", &data.train_file()},
            {"test_file", &data.test_file()}};
  }
  return {{"train_images", &data.train_images()},
          {"train_labels", &data.train_labels()},
          {"test_images", &data.test_images()},
          {"test_labels", &data.test_labels()}};
}

// The types server/optimizer.h implements (server/optimizer.cc has the same
// list; common/ cannot depend on server/).
const std::vector<std::string>& KnownOptimizerTypes() {
  static const auto* names =
      new std::vector<std::string>{"sgd", "momentum", "adagrad", "adam", "ftrl"};
  return *names;
}

}  // namespace

namespace job_file_internal {
namespace {

// The checks behind CheckJobSpec, shared by ValidateJobSpec (no lines) and
// ParseJobYaml (`where` maps a field path to "source:line: ").

class SpecChecker {
 public:
  explicit SpecChecker(const FieldLocator& where) : where_(where) {}

  absl::Status Check(const JobSpec& spec) {
    PETREL_RETURN_IF_ERROR(CheckModel(spec.model()));
    PETREL_RETURN_IF_ERROR(CheckData(spec.model(), spec.data()));
    PETREL_RETURN_IF_ERROR(CheckOptimizer(spec.optimizer(), "optimizer", true));
    PETREL_RETURN_IF_ERROR(CheckTableOptimizers(spec));
    PETREL_RETURN_IF_ERROR(CheckTraining(spec.training()));
    PETREL_RETURN_IF_ERROR(CheckCluster(spec.cluster()));
    PETREL_RETURN_IF_ERROR(CheckCompression(spec.compression()));
    PETREL_RETURN_IF_ERROR(CheckModes(spec, where_));
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
    if (m.type() != "softmax" && m.type() != "mlp" &&
        m.type() != "sparse_logistic") {
      return Error("model.type",
                   absl::StrCat("model.type must be \"softmax\", \"mlp\" or "
                                "\"sparse_logistic\", got ",
                                Quote(m.type()),
                                DidYouMean(m.type(),
                                           {"softmax", "mlp", "sparse_logistic"},
                                           "")));
    }
    if (m.type() == "sparse_logistic") {
      if (m.hidden_size() > 0) {
        return Error("model.hidden",
                     absl::StrCat("model.hidden must be empty for model.type "
                                  "\"sparse_logistic\" (remove it), got ",
                                  m.hidden_size(), " hidden layer(s)"));
      }
      if (m.num_classes() != 2) {
        return Error("model.num_classes",
                     absl::StrCat("model.num_classes must be 2 for model.type "
                                  "\"sparse_logistic\" (binary labels 0/1), "
                                  "got ",
                                  m.num_classes()));
      }
    }
    if (m.max_rows() < 0) {
      return Error("model.max_rows",
                   absl::StrCat("model.max_rows must be a non-negative integer "
                                "(0 = unlimited), got ",
                                m.max_rows()));
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

  // data.format is one the workers read and the one the model type needs,
  // and only that format's file fields are set.
  absl::Status CheckData(const ModelSpec& m, const DataSpec& d) {
    if (d.format() != "idx" && d.format() != "libsvm") {
      return Error("data.format",
                   absl::StrCat("data.format must be \"idx\" or \"libsvm\", "
                                "got ",
                                Quote(d.format())));
    }
    const std::string wanted = FormatFor(m.type());
    if (d.format() != wanted) {
      return Error("data.format",
                   absl::StrCat("data.format must be ", Quote(wanted),
                                " for model.type ", Quote(m.type()), ", got ",
                                Quote(d.format())));
    }
    const bool libsvm = d.format() == "libsvm";
    const std::pair<const char*, const std::string*> others[] = {
        {"train_images", libsvm ? &d.train_images() : nullptr},
        {"train_labels", libsvm ? &d.train_labels() : nullptr},
        {"test_images", libsvm ? &d.test_images() : nullptr},
        {"test_labels", libsvm ? &d.test_labels() : nullptr},
        {"train_file", libsvm ? nullptr : &d.train_file()},
        {"test_file", libsvm ? nullptr : &d.test_file()},
    };
    for (const auto& [field, value] : others) {
      if (value == nullptr || value->empty()) continue;
      const std::string path = absl::StrCat("data.", field);
      return Error(path, absl::StrCat(path, " is not used with data.format ",
                                      Quote(d.format()), " (remove it; ",
                                      libsvm ? "use data.train_file and "
                                               "data.test_file"
                                             : "use data.train_images etc.",
                                      "), got ", Quote(*value)));
    }
    return absl::OkStatus();
  }

  // A float field that must be finite and >= 0 (`positive`: > 0).
  absl::Status NonNegative(const std::string& path, float value,
                           absl::string_view example, bool positive = false) {
    if (std::isfinite(value) && (positive ? value > 0 : value >= 0)) {
      return absl::OkStatus();
    }
    return Error(path, absl::StrCat(path, " must be a ",
                                    positive ? "positive" : "non-negative",
                                    " number, e.g. ", example, ", got ", value));
  }

  absl::Status UnitInterval(const std::string& path, float value,
                            absl::string_view example) {
    if (value >= 0 && value < 1) return absl::OkStatus();
    return Error(path, absl::StrCat(path, " must be in [0, 1), e.g. ", example,
                                    ", got ", value));
  }

  // One optimizer block at `prefix` ("optimizer", top_level, whose tables
  // CheckTableOptimizers checks; or "optimizer.tables.<table>", which may not
  // nest tables of its own).
  absl::Status CheckOptimizer(const OptimizerSpec& o, const std::string& prefix,
                              bool top_level) {
    const std::string type_path = prefix + ".type";
    const std::vector<std::string>& known = KnownOptimizerTypes();
    if (std::find(known.begin(), known.end(), o.type()) == known.end()) {
      std::vector<std::string> quoted;
      for (const std::string& name : known) quoted.push_back(Quote(name));
      return Error(type_path,
                   absl::StrCat(type_path, " must be one of ",
                                absl::StrJoin(quoted, ", "), ", got ",
                                Quote(o.type()), DidYouMean(o.type(), known, "")));
    }
    if (!std::isfinite(o.learning_rate()) || !(o.learning_rate() > 0)) {
      const std::string path = prefix + ".learning_rate";
      return Error(path, absl::StrCat(path,
                                      " must be a positive number, e.g. 0.05, "
                                      "got ",
                                      o.learning_rate()));
    }
    PETREL_RETURN_IF_ERROR(UnitInterval(prefix + ".momentum", o.momentum(), "0.9"));
    PETREL_RETURN_IF_ERROR(
        NonNegative(prefix + ".weight_decay", o.weight_decay(), "0.0001"));
    if (o.type() == "ftrl" && o.weight_decay() != 0) {
      const std::string path = prefix + ".weight_decay";
      return Error(path, absl::StrCat(path, " must be 0 for \"ftrl\" (use ",
                                      prefix, ".l2), got ", o.weight_decay()));
    }
    PETREL_RETURN_IF_ERROR(UnitInterval(prefix + ".beta1", o.beta1(), "0.9"));
    PETREL_RETURN_IF_ERROR(UnitInterval(prefix + ".beta2", o.beta2(), "0.999"));
    // Adam and Adagrad divide by (sqrt(...) + epsilon).
    const bool divides = o.type() == "adam" || o.type() == "adagrad";
    PETREL_RETURN_IF_ERROR(
        NonNegative(prefix + ".epsilon", o.epsilon(), "1e-8", divides));
    PETREL_RETURN_IF_ERROR(NonNegative(prefix + ".initial_accumulator_value",
                                       o.initial_accumulator_value(), "0.1"));
    PETREL_RETURN_IF_ERROR(NonNegative(prefix + ".l1", o.l1(), "0.001"));
    PETREL_RETURN_IF_ERROR(NonNegative(prefix + ".l2", o.l2(), "0.001"));
    PETREL_RETURN_IF_ERROR(NonNegative(prefix + ".beta", o.beta(), "1"));
    if (!top_level && o.per_table_size() > 0) {
      // Only reachable for a submitted spec: the parser refuses nesting.
      const std::string path = prefix + ".tables";
      return Error(path, absl::StrCat(path, " is only allowed in the top-level "
                                            "optimizer block"));
    }
    return absl::OkStatus();
  }

  // Each optimizer.tables entry names a table of the model (whose shape
  // CheckModel has vetted) and is a valid optimizer block.
  absl::Status CheckTableOptimizers(const JobSpec& spec) {
    const OptimizerSpec& top = spec.optimizer();
    if (top.per_table_size() == 0) return absl::OkStatus();
    std::vector<std::string> tables;
    for (const DenseTable& table : ModelTables(spec.model())) {
      tables.push_back(table.name());
    }
    for (const SparseTable& table : ModelSparseTables(spec.model())) {
      tables.push_back(table.name());
    }
    for (const std::string& name : TableNames(top)) {
      const std::string path = absl::StrCat("optimizer.tables.", name);
      if (std::find(tables.begin(), tables.end(), name) == tables.end()) {
        return Error(path,
                     absl::StrCat("optimizer.tables names unknown table ",
                                  Quote(name), " (the model's tables: ",
                                  absl::StrJoin(tables, ", "), ")",
                                  DidYouMean(name, tables, "")));
      }
      PETREL_RETURN_IF_ERROR(CheckOptimizer(top.per_table().at(name), path, false));
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

  absl::Status CheckCompression(const CompressionSpec& c) {
    const std::string& type = c.type();
    if (type != "" && type != "none" && type != "fp16" && type != "bf16" && type != "topk") {
      return Error("compression.type",
                   absl::StrCat("compression.type must be \"none\", \"fp16\", \"bf16\" or "
                                "\"topk\", got ",
                                Quote(type)));
    }
    if (type == "topk") {
      if (!std::isfinite(c.topk_ratio()) || c.topk_ratio() <= 0 || c.topk_ratio() > 1) {
        return Error("compression.topk_ratio",
                     absl::StrCat("compression.topk_ratio must be a fraction in (0, 1], "
                                  "e.g. 0.01, got ",
                                  c.topk_ratio()));
      }
    } else if (c.topk_ratio() != 0) {
      return Error("compression.topk_ratio",
                   "compression.topk_ratio is only used with compression.type \"topk\"");
    }
    return absl::OkStatus();
  }

  const FieldLocator& where_;
};

}  // namespace

std::vector<std::string> TableNames(const OptimizerSpec& o) {
  std::vector<std::string> names;
  for (const auto& entry : o.per_table()) names.push_back(entry.first);
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status CheckJobSpec(const JobSpec& spec, const FieldLocator& where) {
  return SpecChecker(where).Check(spec);
}

}  // namespace job_file_internal

using job_file_internal::Quote;

const OptimizerSpec& OptimizerFor(const JobSpec& spec, const std::string& table) {
  const auto& per_table = spec.optimizer().per_table();
  auto it = per_table.find(table);
  if (it == per_table.end() && spec.mode() == "ensemble" && absl::StartsWith(table, "member")) {
    // A member's copy "member<k>/<name>" of a model table takes <name>'s.
    const size_t slash = table.find('/');
    if (slash != std::string::npos) it = per_table.find(table.substr(slash + 1));
  }
  return it != per_table.end() ? it->second : spec.optimizer();
}

absl::Status ValidateJobSpec(const JobSpec& spec) {
  return job_file_internal::CheckJobSpec(
      spec, [](const std::string&) { return std::string(); });
}

absl::Status CheckDataFiles(const JobSpec& spec) {
  const DataSpec& data = spec.data();
  std::vector<std::string> missing;
  for (const auto& [field, name] : DataFiles(data)) {
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
  if (data.format() == "libsvm" &&
      absl::StrContains(absl::StrCat(dir, "/"),
                        absl::StrCat(kSpamCorpusCacheDir, "/"))) {
    absl::StrAppend(&message,
                    "; run tools/fetch_spam_corpus to download and convert "
                    "the SpamAssassin corpus into ",
                    Quote(data.path()));
  } else if (data.format() == "idx" && dir == kFashionMnistDir) {
    absl::StrAppend(&message,
                    "; install Debian's package dataset-fashion-mnist "
                    "(tools/setup does)");
  } else {
    absl::StrAppend(&message, "; check data.path (", Quote(data.path()),
                    ") and the data file names");
  }
  return absl::NotFoundError(message);
}

}  // namespace petrel

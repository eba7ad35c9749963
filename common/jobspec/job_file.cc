// YAML job files -> JobSpec, with the line of every field in each error.
//
// Over 500 lines on purpose: it is one parser class whose section readers
// (one per top-level key) share the scalar conversions and the field-line
// bookkeeping above them; cut in two, each half would need the other's
// private state. What the fields mean lives in job_validation.cc.
#include "common/jobspec/job_file.h"

#include <algorithm>
#include <cerrno>
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
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "yaml-cpp/yaml.h"

namespace petrel {
namespace {

using job_file_internal::CheckJobSpec;
using job_file_internal::CheckRequiredFields;
using job_file_internal::DidYouMean;
using job_file_internal::FieldLocator;
using job_file_internal::FillDefaults;
using job_file_internal::KnownFields;
using job_file_internal::KnownSections;
using job_file_internal::KnownTableOptimizerFields;
using job_file_internal::Quote;

// YAML -> JobSpec: walks the file, records the line of every field and
// converts scalars. What the fields are and mean (known and required fields,
// defaults, valid values) lives in job_validation.cc.

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

// The offset of the first byte of `text` that is not part of well-formed
// UTF-8 (overlong forms and surrogates included), or npos. The spec's string
// fields are proto3 strings, which the coordinator refuses to parse unless
// they are UTF-8.
size_t FirstInvalidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const unsigned char lead = text[i];
    size_t extra;
    uint32_t min;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xe0) == 0xc0) {
      extra = 1, min = 0x80;
    } else if ((lead & 0xf0) == 0xe0) {
      extra = 2, min = 0x800;
    } else if ((lead & 0xf8) == 0xf0) {
      extra = 3, min = 0x10000;
    } else {
      return i;
    }
    if (text.size() - i <= extra) return i;
    uint32_t code = lead & (0x3f >> extra);
    for (size_t k = 1; k <= extra; ++k) {
      const unsigned char next = text[i + k];
      if ((next & 0xc0) != 0x80) return i;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return i;
    i += extra + 1;
  }
  return absl::string_view::npos;
}

constexpr char kPositiveInt[] = "a positive integer";
constexpr char kNonNegativeInt[] = "a non-negative integer";

using FieldFn = std::function<absl::Status(
    const std::string& key, const YAML::Node& value, const std::string& path)>;

class JobYamlParser {
 public:
  explicit JobYamlParser(absl::string_view source) : source_(source) {}

  absl::StatusOr<JobSpec> Parse(absl::string_view text) {
    if (const size_t bad = FirstInvalidUtf8(text); bad != absl::string_view::npos) {
      const size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
      const size_t column = line_start == absl::string_view::npos ? bad + 1 : bad - line_start;
      return ErrorAt(1 + std::count(text.begin(), text.begin() + bad, '\n'),
                     absl::StrCat("not UTF-8 text: byte 0x",
                                  absl::Hex(text[bad] & 0xff, absl::kZeroPad2), " at column ",
                                  column));
    }
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
    const FieldLocator where = [this](const std::string& path) {
      return Where(path);
    };
    PETREL_RETURN_IF_ERROR(CheckRequiredFields(set_, spec, where));
    FillDefaults(set_, source_, &spec);
    PETREL_RETURN_IF_ERROR(CheckJobSpec(spec, where));
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
      const YAML::Node key_node = it->first;
      const YAML::Node value = it->second;
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
                                            DidYouMean(key, known, "")));
        }
        return ErrorAt(line, absl::StrCat("unknown field ", Quote(field),
                                          " (known fields of ", path, ": ",
                                          absl::StrJoin(known, ", "), ")",
                                          DidYouMean(key, known, prefix)));
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

  absl::StatusOr<bool> Bool(const YAML::Node& node, const std::string& path) {
    if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
      return node.Scalar() == "true";
    }
    return ErrorAt(node, absl::StrCat(path, " must be true or false, got ", Describe(node)));
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
    return ForEachField(
        root, "", KnownSections(),
        [&](const std::string& section, const YAML::Node& value,
            const std::string& path) -> absl::Status {
          if (section == "name") {
            return SetIfOk(String(value, path),
                           [spec](std::string s) { spec->set_name(s); });
          }
          if (section == "mode") {
            return SetIfOk(String(value, path),
                           [spec](std::string s) { spec->set_mode(s); });
          }
          return ForEachField(
              value, path, KnownFields().at(section),
              [&](const std::string& key, const YAML::Node& v,
                  const std::string& p) {
                return SectionField(section, key, v, p, spec);
              });
        });
  }

  // Parses field `key` of `section` (at path `p`) into `spec`.
  absl::Status SectionField(const std::string& section, const std::string& key,
                            const YAML::Node& v, const std::string& p,
                            JobSpec* spec) {
    if (section == "model") return ModelField(key, v, p, spec->mutable_model());
    if (section == "data") return DataField(key, v, p, spec->mutable_data());
    if (section == "optimizer") {
      return OptimizerField(key, v, p, spec->mutable_optimizer());
    }
    if (section == "training") {
      return TrainingField(key, v, p, spec->mutable_training());
    }
    if (section == "cluster") {
      return ClusterField(key, v, p, spec->mutable_cluster());
    }
    if (section == "checkpoint") {
      CheckpointSpec* c = spec->mutable_checkpoint();
      if (key == "dir") {
        return SetIfOk(String(v, p), [c](std::string s) { c->set_dir(s); });
      }
      if (key == "resume_from") {
        return SetIfOk(String(v, p), [c](std::string s) { c->set_resume_from(s); });
      }
      return SetIfOk(Int32(v, p, kNonNegativeInt),
                     [c](int32_t x) { c->set_every_clocks(x); });
    }
    if (section == "compression") {
      CompressionSpec* c = spec->mutable_compression();
      if (key == "type") {
        return SetIfOk(String(v, p), [c](std::string s) { c->set_type(s); });
      }
      return SetIfOk(Number(v, p, "a fraction in (0, 1]"),  // topk_ratio
                     [c](double x) { c->set_topk_ratio(x); });
    }
    if (section == "federated") {
      return FederatedField(key, v, p, spec->mutable_federated());
    }
    if (section == "dp") {
      DpSpec* dp = spec->mutable_dp();
      return SetIfOk(Number(v, p, "a non-negative number, e.g. 1.0"),
                     [dp, &key](double x) {
                       if (key == "clip_norm") dp->set_clip_norm(x);
                       if (key == "noise_multiplier") dp->set_noise_multiplier(x);
                       if (key == "delta") dp->set_delta(x);
                     });
    }
    if (section == "ensemble") {  // ensemble.members
      EnsembleSpec* e = spec->mutable_ensemble();
      return SetIfOk(Int32(v, p, kNonNegativeInt),
                     [e](int32_t x) { e->set_members(x); });
    }
    OutputSpec* o = spec->mutable_output();  // output.model_path
    return SetIfOk(String(v, p), [o](std::string s) { o->set_model_path(s); });
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
    if (key == "max_rows") {
      absl::StatusOr<uint64_t> rows = Uint64(v, p);
      if (rows.ok() && *rows > static_cast<uint64_t>(INT64_MAX)) {
        return ErrorAt(v, absl::StrCat(p, " must be ", kNonNegativeInt,
                                       " below 2^63, got ", Describe(v)));
      }
      return SetIfOk(rows, [m](uint64_t x) {
        m->set_max_rows(static_cast<int64_t>(x));
      });
    }
    return SetIfOk(Number(v, p, "a non-negative number, e.g. 0.01"),
                   [m](double x) { m->set_init_scale(x); });
  }

  absl::Status DataField(const std::string& key, const YAML::Node& v,
                         const std::string& p, DataSpec* d) {
    if (key == "classes_per_worker") {
      return SetIfOk(Int32(v, p, kPositiveInt),
                     [d](int32_t x) { d->set_classes_per_worker(x); });
    }
    absl::StatusOr<std::string> s = String(v, p);
    if (!s.ok()) return s.status();
    if (key == "format") d->set_format(*s);
    if (key == "path") d->set_path(*s);
    if (key == "train_images") d->set_train_images(*s);
    if (key == "train_labels") d->set_train_labels(*s);
    if (key == "test_images") d->set_test_images(*s);
    if (key == "test_labels") d->set_test_labels(*s);
    if (key == "train_file") d->set_train_file(*s);
    if (key == "test_file") d->set_test_file(*s);
    if (key == "partition") d->set_partition(*s);
    return absl::OkStatus();
  }

  // Counts are read as any non-negative integer: ValidateJobSpec says why
  // 0 is refused (e.g. "E = 0 trains nothing").
  absl::Status FederatedField(const std::string& key, const YAML::Node& v,
                              const std::string& p, FederatedSpec* f) {
    if (key == "rounds") {
      return SetIfOk(Int32(v, p, kNonNegativeInt), [f](int32_t x) { f->set_rounds(x); });
    }
    if (key == "local_epochs") {
      return SetIfOk(Int32(v, p, kNonNegativeInt),
                     [f](int32_t x) { f->set_local_epochs(x); });
    }
    if (key == "secure_aggregation") {
      return SetIfOk(Bool(v, p), [f](bool x) { f->set_secure_aggregation(x); });
    }
    return SetIfOk(Number(v, p, "a number, e.g. 0.5"), [f, &key](double x) {
      if (key == "client_fraction") f->set_client_fraction(x);
      if (key == "round_deadline_seconds") f->set_round_deadline_seconds(x);
      if (key == "client_learning_rate") f->set_client_learning_rate(x);
    });
  }

  // A field of the top-level optimizer block or of an optimizer.tables entry
  // (which has no "tables").
  absl::Status OptimizerField(const std::string& key, const YAML::Node& v,
                              const std::string& p, OptimizerSpec* o) {
    if (key == "type") {
      return SetIfOk(String(v, p), [o](std::string s) { o->set_type(s); });
    }
    if (key == "tables") return TableOptimizers(v, p, o);
    using Setter = void (OptimizerSpec::*)(float);
    struct NumberField {
      const char* key;
      Setter set;
      const char* expected;
    };
    static const NumberField kNumbers[] = {
        {"learning_rate", &OptimizerSpec::set_learning_rate,
         "a positive number, e.g. 0.05"},
        {"momentum", &OptimizerSpec::set_momentum,
         "a number in [0, 1), e.g. 0.9"},
        {"weight_decay", &OptimizerSpec::set_weight_decay,
         "a non-negative number, e.g. 0.0001"},
        {"beta1", &OptimizerSpec::set_beta1, "a number in [0, 1), e.g. 0.9"},
        {"beta2", &OptimizerSpec::set_beta2, "a number in [0, 1), e.g. 0.999"},
        {"epsilon", &OptimizerSpec::set_epsilon,
         "a positive number, e.g. 1e-8"},
        {"initial_accumulator_value",
         &OptimizerSpec::set_initial_accumulator_value,
         "a non-negative number, e.g. 0.1"},
        {"l1", &OptimizerSpec::set_l1, "a non-negative number, e.g. 0.001"},
        {"l2", &OptimizerSpec::set_l2, "a non-negative number, e.g. 0.001"},
        {"beta", &OptimizerSpec::set_beta, "a non-negative number, e.g. 1"},
    };
    for (const NumberField& field : kNumbers) {
      if (key != field.key) continue;
      return SetIfOk(Number(v, p, field.expected),
                     [o, &field](double x) { (o->*field.set)(x); });
    }
    return ErrorAt(v, absl::StrCat("no parser for field ", p));  // unreachable
  }

  // optimizer.tables: table name -> an optimizer block, each parsed like the
  // top-level one at path "optimizer.tables.<name>".
  absl::Status TableOptimizers(const YAML::Node& node, const std::string& path,
                               OptimizerSpec* o) {
    if (!node.IsMap()) {
      return ErrorAt(node, absl::StrCat(path,
                                        " must be a mapping of table name to "
                                        "optimizer fields, e.g. \"layer0/bias: "
                                        "{type: sgd, learning_rate: 0.1}\", "
                                        "got ",
                                        Describe(node)));
    }
    std::map<std::string, int> seen;
    for (auto it = node.begin(); it != node.end(); ++it) {
      const YAML::Node key_node = it->first;
      const YAML::Node value = it->second;
      if (!key_node.IsScalar()) {
        return ErrorAt(key_node, absl::StrCat("keys of ", path,
                                              " must be table names, got ",
                                              Describe(key_node)));
      }
      const std::string name = key_node.Scalar();
      const std::string entry = absl::StrCat(path, ".", name);
      const int line = LineOf(key_node);
      auto [previous, inserted] = seen.emplace(name, line);
      if (!inserted) {
        return ErrorAt(line, absl::StrCat(Quote(entry),
                                          " is given twice (first on line ",
                                          previous->second,
                                          "); keep one of them"));
      }
      lines_[entry] = line;
      if (!value.IsMap()) {
        return ErrorAt(line, absl::StrCat(entry,
                                          " must be a mapping of optimizer "
                                          "fields (type, learning_rate, ...), "
                                          "got ",
                                          value.IsNull() ? "nothing"
                                                         : Describe(value)));
      }
      set_.insert(entry);
      OptimizerSpec* table = &(*o->mutable_per_table())[name];
      PETREL_RETURN_IF_ERROR(ForEachField(
          value, entry, KnownTableOptimizerFields(),
          [&](const std::string& key, const YAML::Node& v,
              const std::string& p) { return OptimizerField(key, v, p, table); }));
    }
    return absl::OkStatus();
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
    if (key == "allow_tf32") {
      return SetIfOk(Bool(v, p), [t](bool x) { t->set_allow_tf32(x); });
    }
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

void ApplyClusterOverrides(JobSpec* spec, int servers, int workers) {
  if (servers > 0) spec->mutable_cluster()->set_servers(servers);
  if (workers > 0) spec->mutable_cluster()->set_workers(workers);
}

}  // namespace petrel

#include "common/jobspec/model_tables.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace petrel {

std::vector<DenseTable> ModelTables(const ModelSpec& model) {
  if (model.type() == "sparse_logistic") {
    DenseTable bias;
    bias.set_name("bias");
    bias.add_shape(1);
    bias.set_initializer("zeros");
    return {bias};
  }
  std::vector<int64_t> widths = {model.input_dim()};
  for (int h : model.hidden()) widths.push_back(h);
  widths.push_back(model.num_classes());

  const std::string initializer =
      model.initializer().empty() ? "glorot_uniform" : model.initializer();
  std::vector<DenseTable> tables;
  for (size_t i = 0; i + 1 < widths.size(); ++i) {
    DenseTable weights;
    weights.set_name(absl::StrCat("layer", i, "/weights"));
    weights.add_shape(widths[i]);
    weights.add_shape(widths[i + 1]);
    weights.set_initializer(initializer);
    weights.set_init_scale(model.init_scale());
    tables.push_back(weights);

    DenseTable bias;
    bias.set_name(absl::StrCat("layer", i, "/bias"));
    bias.add_shape(widths[i + 1]);
    bias.set_initializer("zeros");
    tables.push_back(bias);
  }
  return tables;
}

std::vector<SparseTable> ModelSparseTables(const ModelSpec& model) {
  if (model.type() != "sparse_logistic") return {};
  SparseTable weights;
  weights.set_name("weights");
  weights.set_dim(1);
  weights.set_initializer("zeros");
  weights.set_max_rows(model.max_rows());
  return {weights};
}

int EnsembleMembers(const JobSpec& spec) {
  if (spec.mode() != "ensemble") return 1;
  return std::max(1, spec.ensemble().members());
}

std::string MemberPrefix(int member) { return absl::StrCat("member", member, "/"); }

namespace {

// Every table of `model_tables` once per member, renamed "member<k>/<name>".
template <typename Table>
std::vector<Table> PerMember(const JobSpec& spec, const std::vector<Table>& model_tables) {
  if (spec.mode() != "ensemble") return model_tables;
  std::vector<Table> tables;
  const int members = EnsembleMembers(spec);
  tables.reserve(model_tables.size() * members);
  for (int k = 0; k < members; ++k) {
    for (Table table : model_tables) {
      table.set_name(MemberPrefix(k) + table.name());
      tables.push_back(std::move(table));
    }
  }
  return tables;
}

}  // namespace

std::vector<DenseTable> JobTables(const JobSpec& spec) {
  return PerMember(spec, ModelTables(spec.model()));
}

std::vector<SparseTable> JobSparseTables(const JobSpec& spec) {
  return PerMember(spec, ModelSparseTables(spec.model()));
}

int64_t TableSize(const DenseTable& table) {
  int64_t size = 1;
  for (int64_t dim : table.shape()) size *= dim;
  return size;
}

}  // namespace petrel

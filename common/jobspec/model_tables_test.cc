// JobTables / JobSparseTables: one set of tables per ensemble member.
#include "common/jobspec/model_tables.h"

#define CATCH_CONFIG_MAIN
#include "catch2/catch.hpp"

namespace petrel {
namespace {

JobSpec SoftmaxJob() {
  JobSpec spec;
  spec.mutable_model()->set_type("softmax");
  spec.mutable_model()->set_input_dim(784);
  spec.mutable_model()->set_num_classes(10);
  return spec;
}

std::vector<std::string> Names(const std::vector<DenseTable>& tables) {
  std::vector<std::string> names;
  for (const DenseTable& table : tables) names.push_back(table.name());
  return names;
}

TEST_CASE("JobTables is ModelTables outside ensemble mode") {
  JobSpec spec = SoftmaxJob();
  CHECK(Names(JobTables(spec)) == Names(ModelTables(spec.model())));
  spec.set_mode("sync");
  spec.mutable_ensemble()->set_members(3);  // ignored: not an ensemble
  CHECK(Names(JobTables(spec)) == std::vector<std::string>{"layer0/weights", "layer0/bias"});
  CHECK(EnsembleMembers(spec) == 1);
}

TEST_CASE("an ensemble has every table once per member, member by member") {
  JobSpec spec = SoftmaxJob();
  spec.mutable_model()->set_type("mlp");
  spec.mutable_model()->add_hidden(32);
  spec.set_mode("ensemble");
  spec.mutable_ensemble()->set_members(3);
  CHECK(EnsembleMembers(spec) == 3);
  const std::vector<DenseTable> tables = JobTables(spec);
  REQUIRE(tables.size() == 12);
  CHECK(Names(tables) == std::vector<std::string>{
                             "member0/layer0/weights", "member0/layer0/bias",
                             "member0/layer1/weights", "member0/layer1/bias",
                             "member1/layer0/weights", "member1/layer0/bias",
                             "member1/layer1/weights", "member1/layer1/bias",
                             "member2/layer0/weights", "member2/layer0/bias",
                             "member2/layer1/weights", "member2/layer1/bias"});
  // Shapes and initializers are the model's.
  const std::vector<DenseTable> model = ModelTables(spec.model());
  for (size_t i = 0; i < tables.size(); ++i) {
    const DenseTable& expected = model[i % model.size()];
    CHECK(std::vector<int64_t>(tables[i].shape().begin(), tables[i].shape().end()) ==
          std::vector<int64_t>(expected.shape().begin(), expected.shape().end()));
    CHECK(tables[i].initializer() == expected.initializer());
  }
  CHECK(JobSparseTables(spec).empty());
}

TEST_CASE("sparse tables are renamed per member too") {
  JobSpec spec;
  spec.mutable_model()->set_type("sparse_logistic");
  spec.mutable_model()->set_input_dim(1 << 20);
  spec.mutable_model()->set_num_classes(2);
  CHECK(JobSparseTables(spec).size() == 1);
  spec.set_mode("ensemble");
  spec.mutable_ensemble()->set_members(2);
  const std::vector<SparseTable> sparse = JobSparseTables(spec);
  REQUIRE(sparse.size() == 2);
  CHECK(sparse[0].name() == "member0/weights");
  CHECK(sparse[1].name() == "member1/weights");
  CHECK(Names(JobTables(spec)) == std::vector<std::string>{"member0/bias", "member1/bias"});
}

}  // namespace
}  // namespace petrel

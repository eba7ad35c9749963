// The tables a model needs, in canonical order. The coordinator places
// them, the servers initialise them and the workers compute on them; all three
// derive them from the ModelSpec here so they cannot disagree.
#ifndef PETREL_COMMON_JOBSPEC_MODEL_TABLES_H_
#define PETREL_COMMON_JOBSPEC_MODEL_TABLES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/job.pb.h"

namespace petrel {

// For layer i (0-based, input -> hidden[0] -> ... -> num_classes):
//   "layer<i>/weights"  shape [fan_in, fan_out], row-major
//   "layer<i>/bias"     shape [fan_out]
// "softmax" is the MLP with no hidden layer. "sparse_logistic" has one dense
// table, "bias" shape [1] (zeros); its weights are the sparse table below.
std::vector<DenseTable> ModelTables(const ModelSpec& model);

// The sparse tables a model needs: for "sparse_logistic" the table "weights"
// of dim 1 (initializer "zeros", max_rows from the spec); none for "softmax"
// and "mlp".
std::vector<SparseTable> ModelSparseTables(const ModelSpec& model);

// The dense tables a job places on its servers: ModelTables(spec.model()),
// except for `mode: ensemble`, where each member k in 0..members-1 has its
// own copy of every table, named "member<k>/<table>", member by member:
// member0/layer0/weights, member0/layer0/bias, member1/layer0/weights, ...
// Servers seed each table's initial values by its name, so members start
// from different points.
std::vector<DenseTable> JobTables(const JobSpec& spec);

// The sparse tables a job places: ModelSparseTables(spec.model()), renamed
// per member like JobTables for an ensemble (validation refuses ensembles
// of sparse models; the naming is here so the two cannot disagree).
std::vector<SparseTable> JobSparseTables(const JobSpec& spec);

// Members of an ensemble job (spec.ensemble().members()), 1 for other modes.
int EnsembleMembers(const JobSpec& spec);

// "member<k>/": the prefix of member k's table names.
std::string MemberPrefix(int member);

// Number of float elements of a table (product of its shape).
int64_t TableSize(const DenseTable& table);

}  // namespace petrel

#endif  // PETREL_COMMON_JOBSPEC_MODEL_TABLES_H_

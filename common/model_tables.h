// The dense tables a model needs, in canonical order. The coordinator places
// them, the servers initialise them and the workers compute on them; all three
// derive them from the ModelSpec here so they cannot disagree.
#ifndef PETREL_COMMON_MODEL_TABLES_H_
#define PETREL_COMMON_MODEL_TABLES_H_

#include <cstdint>
#include <string>
#include <vector>

#include "proto/job.pb.h"

namespace petrel {

// For layer i (0-based, input -> hidden[0] -> ... -> num_classes):
//   "layer<i>/weights"  shape [fan_in, fan_out], row-major
//   "layer<i>/bias"     shape [fan_out]
// "softmax" is the MLP with no hidden layer.
std::vector<DenseTable> ModelTables(const ModelSpec& model);

// Number of float elements of a table (product of its shape).
int64_t TableSize(const DenseTable& table);

}  // namespace petrel

#endif  // PETREL_COMMON_MODEL_TABLES_H_

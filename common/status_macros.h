// Early-return helpers for absl::Status / absl::StatusOr. Debian's Abseil
// (20220623) ships no ABSL_RETURN_IF_ERROR, so Petrel keeps this one pair.
#ifndef PETREL_COMMON_STATUS_MACROS_H_
#define PETREL_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define PETREL_CONCAT_INNER_(a, b) a##b
#define PETREL_CONCAT_(a, b) PETREL_CONCAT_INNER_(a, b)

// Returns the status of `expr` from the enclosing function unless it is OK.
#define PETREL_RETURN_IF_ERROR(expr)                  \
  do {                                                \
    ::absl::Status petrel_status_ = (expr);           \
    if (!petrel_status_.ok()) return petrel_status_;  \
  } while (0)

// `PETREL_ASSIGN_OR_RETURN(auto x, F());` binds the value of a StatusOr or
// returns its error.
#define PETREL_ASSIGN_OR_RETURN(lhs, expr) \
  PETREL_ASSIGN_OR_RETURN_IMPL_(PETREL_CONCAT_(petrel_statusor_, __LINE__), lhs, expr)

#define PETREL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return statusor.status();            \
  lhs = std::move(statusor).value()

#endif  // PETREL_COMMON_STATUS_MACROS_H_

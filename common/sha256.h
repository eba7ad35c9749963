// SHA-256 of a byte string, raw (32 bytes): the checksum of durable files
// and of replica state transfers.
#ifndef PETREL_COMMON_SHA256_H_
#define PETREL_COMMON_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace petrel {

std::string Sha256(absl::string_view bytes);

}  // namespace petrel

#endif  // PETREL_COMMON_SHA256_H_

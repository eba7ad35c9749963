// Tensors travel as raw little-endian float32 in protobuf `bytes` fields.
#ifndef PETREL_COMMON_WIRE_FLOAT_BYTES_H_
#define PETREL_COMMON_WIRE_FLOAT_BYTES_H_

#include <cstring>
#include <string>

#include "absl/types/span.h"

namespace petrel {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "the wire format is little-endian float32; add a byte swap for this host");

inline void FloatsToBytes(absl::Span<const float> values, std::string* out) {
  out->resize(values.size() * sizeof(float));
  if (!values.empty()) std::memcpy(out->data(), values.data(), out->size());
}

// Views `bytes` as floats. The caller checks bytes.size() % sizeof(float)
// first; std::string storage is suitably aligned for float.
inline absl::Span<const float> BytesAsFloats(const std::string& bytes) {
  return absl::Span<const float>(reinterpret_cast<const float*>(bytes.data()),
                                 bytes.size() / sizeof(float));
}

}  // namespace petrel

#endif  // PETREL_COMMON_WIRE_FLOAT_BYTES_H_

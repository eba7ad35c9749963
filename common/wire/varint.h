// Protobuf's base-128 varint, for the messages Petrel writes by hand
// (common/parameter_wire.h, common/push_wire.h).
#ifndef PETREL_COMMON_WIRE_VARINT_H_
#define PETREL_COMMON_WIRE_VARINT_H_

#include <cstdint>
#include <string>

namespace petrel {

// Appends `value` to `out` as a varint: 7 bits a byte, low bits first.
inline void PutVarint(uint64_t value, std::string* out) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

}  // namespace petrel

#endif  // PETREL_COMMON_WIRE_VARINT_H_

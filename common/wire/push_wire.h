// Reads a serialized PushRequest straight from the slices gRPC received it
// in (the server's raw Push method), so that its tensors are applied, held
// and forwarded where they lie instead of being parsed into protobuf strings
// (docs/performance.md). The small fields are parsed by protobuf, the
// tensor fields are views (common/push_view.h).
#ifndef PETREL_COMMON_WIRE_PUSH_WIRE_H_
#define PETREL_COMMON_WIRE_PUSH_WIRE_H_

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/wire/push_view.h"
#include "grpcpp/support/byte_buffer.h"

namespace petrel {

// How the tensor fields of decoded pushes were found (counted, not reset).
struct PushDecodeStats {
  int64_t in_place = 0;    // viewed where gRPC put them
  int64_t split = 0;       // gathered into one buffer: the field spans slices
  int64_t misaligned = 0;  // gathered: its address does not suit its type
  int64_t gathered_bytes = 0;
};

// The push in `buffer`. The view's owner holds references to the buffer's
// slices (gRPC's reference-counted memory, not a copy) and any field that
// had to be gathered: a field that spans slices, or keys not at a multiple
// of 8 (the sparse tables read them as uint64 arrays). Gradients are viewed
// at whatever address they arrived (the server copies one for an optimizer
// only if it is misaligned: server/table_shards_apply.cc).
//
// Stricter than protobuf's parser: an unknown field, or a known one with the
// wrong wire type, is refused rather than kept. INVALID_ARGUMENT naming the
// problem for bytes that are not a PushRequest; nothing is applied.
absl::StatusOr<PushView> DecodePush(const grpc::ByteBuffer& buffer,
                                    PushDecodeStats* stats = nullptr);

}  // namespace petrel

#endif  // PETREL_COMMON_WIRE_PUSH_WIRE_H_

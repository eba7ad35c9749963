// The parameter service's messages in protobuf's wire format, written and
// read by hand where the tensors are, so that they cross gRPC without the
// copies protobuf would make (docs/performance.md): a push's gradients are
// sent straight from the worker's memory; a pull's values leave the server
// in the strings it filled, and are copied from gRPC's receive buffers
// straight into the worker's tables. The bytes are exactly what the
// generated code writes and parses, so either side may use either.
#ifndef PETREL_COMMON_WIRE_PARAMETER_WIRE_H_
#define PETREL_COMMON_WIRE_PARAMETER_WIRE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/support/byte_buffer.h"
#include "proto/parameter.pb.h"

namespace petrel {

// Counts the slices gRPC still holds that alias caller memory. Memory sent
// aliased must outlive the slices: Drain() waits until gRPC has let go.
class AliasedSlices {
 public:
  ~AliasedSlices() { Drain(); }
  grpc::Slice Alias(const void* data, size_t size);
  int outstanding() const { return outstanding_.load(); }
  // Waits (up to 2 s; gRPC drops the writes of a failed call promptly) until
  // no slice is outstanding.
  void Drain();

 private:
  static void Release(void* self);
  std::atomic<int> outstanding_{0};
};

// A serialized PushRequest: `header` (which must carry no `gradients`)
// followed by one `gradients` field per payload, in order, aliasing the
// payloads' bytes (float32, or as header.encoding() says).
grpc::ByteBuffer EncodePush(const PushRequest& header,
                            const std::vector<absl::string_view>& gradients,
                            AliasedSlices* aliases);

// A serialized PullResponse that takes over `response`'s strings (no copy):
// `response` is left without values or sparse rows.
grpc::ByteBuffer EncodePullResponse(PullResponse* response);

// The same for a push-pull's answer (PushRequest.pull_next): a PushResponse
// has PullResponse's layout, so DecodePullResponse reads it too.
grpc::ByteBuffer EncodePushResponse(PushResponse* response);

// Walks a serialized PullResponse (or PushResponse). For the i-th `values` field of n bytes
// calls values_sink(i, n) and copies the bytes to the pointer it returns
// (nullptr: an error, reported as the field having the wrong size); each
// `sparse_rows` field is appended to *sparse_rows. Other fields are skipped.
absl::Status DecodePullResponse(const grpc::ByteBuffer& buffer,
                                const std::function<char*(int index, int64_t size)>& values_sink,
                                std::vector<std::string>* sparse_rows);

}  // namespace petrel

#endif  // PETREL_COMMON_WIRE_PARAMETER_WIRE_H_

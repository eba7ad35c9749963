// Fuzzes the parameter messages' hand-written wire format
// (common/parameter_wire.h, common/push_wire.h): DecodePullResponse, the
// reader of the pull responses a worker receives, DecodePush, the server's
// reader of pushes, and the encoders EncodePullResponse and EncodePush. The first input byte sets the size of the slices the rest is
// cut into (1-64 bytes, or one slice), as gRPC may hand a message over in
// pieces.
// Invariants, against protobuf's generated parser as the reference: when
// both accept the bytes they see the same values and sparse rows; the same
// bytes as a push: DecodePush refuses what protobuf refuses (with
// INVALID_ARGUMENT), and what it accepts is protobuf's message; what
// EncodePullResponse writes, DecodePullResponse reads back unchanged and
// protobuf reads as the same message; what EncodePush writes (those values
// as gradients), protobuf reads as the same PushRequest.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/wire/parameter_wire.h"
#include "common/wire/push_wire.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"
#include "proto/parameter.pb.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

constexpr int kMaxValues = 64;
constexpr int64_t kMaxValueBytes = 1 << 20;

grpc::ByteBuffer Cut(const char* data, size_t size, size_t piece) {
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < size; at += piece) {
    slices.emplace_back(data + at, std::min(piece, size - at));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  PETREL_FUZZ_CHECK(buffer.Dump(&slices).ok());
  std::string flat;
  for (const grpc::Slice& slice : slices) {
    flat.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return flat;
}

// Decodes `buffer` into `values` (each values field as its own string, as
// a worker's sink would place it) and `sparse_rows`.
absl::Status Decode(const grpc::ByteBuffer& buffer, std::vector<std::string>* values,
                    std::vector<std::string>* sparse_rows) {
  return petrel::DecodePullResponse(
      buffer,
      [values](int index, int64_t size) -> char* {
        PETREL_FUZZ_CHECK(index == static_cast<int>(values->size()));
        PETREL_FUZZ_CHECK(size >= 0);
        // The worker's sink refuses slices it did not ask for; so does this.
        if (index >= kMaxValues || size > kMaxValueBytes) return nullptr;
        values->emplace_back(size, '\0');
        return values->back().data();
      },
      sparse_rows);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t piece = data[0] == 0 ? size : 1 + data[0] % 64;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t length = size - 1;

  {
    absl::StatusOr<petrel::PushView> push = petrel::DecodePush(Cut(bytes, length, piece));
    petrel::PushRequest reference;
    const bool parses = reference.ParseFromArray(bytes, static_cast<int>(length));
    if (!push.ok()) {
      PETREL_FUZZ_CHECK(push.status().code() == absl::StatusCode::kInvalidArgument);
    } else {
      PETREL_FUZZ_CHECK(parses);
      PETREL_FUZZ_CHECK(petrel::ToRequest(*push).SerializeAsString() ==
                        reference.SerializeAsString());
    }
  }

  std::vector<std::string> values, sparse_rows;
  const absl::Status decoded = Decode(Cut(bytes, length, piece), &values, &sparse_rows);

  petrel::PullResponse reference;
  if (!reference.ParseFromArray(bytes, static_cast<int>(length))) return 0;
  if (decoded.ok()) {
    PETREL_FUZZ_CHECK(static_cast<int>(values.size()) == reference.values_size());
    for (int i = 0; i < reference.values_size(); ++i) {
      PETREL_FUZZ_CHECK(values[i] == reference.values(i));
    }
    PETREL_FUZZ_CHECK(static_cast<int>(sparse_rows.size()) == reference.sparse_rows_size());
    for (int i = 0; i < reference.sparse_rows_size(); ++i) {
      PETREL_FUZZ_CHECK(sparse_rows[i] == reference.sparse_rows(i));
    }
  }
  if (reference.values_size() > kMaxValues) return 0;
  for (const std::string& value : reference.values()) {
    if (static_cast<int64_t>(value.size()) > kMaxValueBytes) return 0;
  }

  // The server's encoder, read back by the worker's decoder.
  petrel::PullResponse sent = reference;
  const grpc::ByteBuffer encoded = petrel::EncodePullResponse(&sent);
  PETREL_FUZZ_CHECK(sent.values_size() == 0 && sent.sparse_rows_size() == 0);
  std::vector<std::string> round_values, round_rows;
  PETREL_FUZZ_CHECK(Decode(encoded, &round_values, &round_rows).ok());
  PETREL_FUZZ_CHECK(static_cast<int>(round_values.size()) == reference.values_size());
  for (int i = 0; i < reference.values_size(); ++i) {
    PETREL_FUZZ_CHECK(round_values[i] == reference.values(i));
  }
  PETREL_FUZZ_CHECK(static_cast<int>(round_rows.size()) == reference.sparse_rows_size());
  for (int i = 0; i < reference.sparse_rows_size(); ++i) {
    PETREL_FUZZ_CHECK(round_rows[i] == reference.sparse_rows(i));
  }
  // And what the encoder writes is what protobuf writes.
  petrel::PullResponse reparsed;
  PETREL_FUZZ_CHECK(reparsed.ParseFromString(Flatten(encoded)));
  PETREL_FUZZ_CHECK(reparsed.SerializeAsString() == [&] {
    petrel::PullResponse only_known;
    *only_known.mutable_values() = reference.values();
    *only_known.mutable_sparse_rows() = reference.sparse_rows();
    return only_known.SerializeAsString();
  }());

  // The worker's push encoder, with these values as the gradients, read by
  // protobuf as the server reads it.
  petrel::PushRequest header;
  header.set_job_id("job-1");
  header.set_worker_id("worker-0");
  header.set_clock(static_cast<int64_t>(length));
  header.set_encoding(petrel::FLOAT16);
  std::vector<absl::string_view> gradients(reference.values().begin(), reference.values().end());
  petrel::AliasedSlices aliases;  // outlives the buffer that aliases the gradients
  {
    const grpc::ByteBuffer push = petrel::EncodePush(header, gradients, &aliases);
    petrel::PushRequest parsed;
    PETREL_FUZZ_CHECK(parsed.ParseFromString(Flatten(push)));
    PETREL_FUZZ_CHECK(parsed.gradients_size() == reference.values_size());
    for (int i = 0; i < reference.values_size(); ++i) {
      PETREL_FUZZ_CHECK(parsed.gradients(i) == reference.values(i));
    }
    parsed.clear_gradients();
    PETREL_FUZZ_CHECK(parsed.SerializeAsString() == header.SerializeAsString());
  }
  PETREL_FUZZ_CHECK(aliases.outstanding() == 0);
  return 0;
}

// The raw Push method's decoder against protobuf's own parser: the same
// message however gRPC cuts it into slices, tensors viewed in place where
// they can be, and every malformed, truncated or unknown input refused with
// INVALID_ARGUMENT naming the problem.
#define CATCH_CONFIG_MAIN
#include "common/wire/push_wire.h"

#include <cstring>
#include <random>

#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "common/wire/parameter_wire.h"
#include "common/rpc/request_limits.h"

namespace petrel {
namespace {

// `bytes` cut into slices of `piece` bytes (copied into gRPC's memory).
grpc::ByteBuffer Sliced(const std::string& bytes, size_t piece) {
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    slices.emplace_back(bytes.data() + at, std::min(piece, bytes.size() - at));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

// One slice that views `bytes` where they are (so a test can place them).
grpc::ByteBuffer InPlace(const char* data, size_t size) {
  grpc::Slice slice(const_cast<char*>(data), size, grpc::Slice::STATIC_SLICE);
  return grpc::ByteBuffer(&slice, 1);
}

std::string Floats(std::initializer_list<float> values) {
  std::string bytes(values.size() * sizeof(float), '\0');
  std::memcpy(bytes.data(), values.begin(), bytes.size());
  return bytes;
}

PushRequest SamplePush() {
  PushRequest push;
  push.set_job_id("job-1");
  push.set_worker_id("worker-0");
  push.set_clock(7);
  push.set_shard_map_epoch(3);
  push.set_part(1);
  push.set_parts(2);
  push.set_shard_group(1);
  push.set_encoding(FLOAT32);
  Slice* w = push.add_slices();
  w->set_table("w");
  w->set_begin(2);
  w->set_end(5);
  push.add_gradients(Floats({1.5f, -2.0f, 0.25f}));
  Slice* b = push.add_slices();
  b->set_table("b");
  b->set_end(1);
  push.add_gradients(Floats({3.0f}));
  SparseSlice* emb = push.add_sparse();
  emb->set_table("emb");
  const uint64_t keys[] = {4, 9};
  emb->set_keys(reinterpret_cast<const char*>(keys), sizeof(keys));
  push.add_sparse_gradients(Floats({1, 2, 3, 4}));
  push.add_sparse()->set_table("empty");  // no keys, no rows
  push.add_sparse_gradients("");
  return push;
}

// The decoded view, made whole again, is the message protobuf parses.
void CheckSame(const PushView& view, const PushRequest& expected) {
  CHECK(view.owner != nullptr);
  CHECK(ToRequest(view).SerializeAsString() == expected.SerializeAsString());
  for (const SparseSlice& slice : view.header.sparse()) CHECK(slice.keys().empty());
  CHECK(view.header.gradients().empty());
  CHECK(view.header.sparse_gradients().empty());
}

absl::Status DecodeStatus(const std::string& bytes) {
  return DecodePush(Sliced(bytes, bytes.size() + 1)).status();
}

void CheckRefused(const std::string& bytes, const std::string& why) {
  const absl::Status status = DecodeStatus(bytes);
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(status.message()), Catch::Contains(why));
}

std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>(value | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

std::string LengthField(int field, const std::string& bytes) {
  return Varint(field << 3 | 2) + Varint(bytes.size()) + bytes;
}

TEST_CASE("a push decodes to the message protobuf parses, however it is sliced") {
  const PushRequest push = SamplePush();
  const std::string bytes = push.SerializeAsString();
  for (size_t piece : {size_t{1}, size_t{3}, size_t{7}, size_t{64}, bytes.size()}) {
    INFO("slices of " << piece << " bytes");
    PushDecodeStats stats;
    absl::StatusOr<PushView> view = DecodePush(Sliced(bytes, piece), &stats);
    REQUIRE(view.ok());
    CheckSame(*view, push);
    // Two gradients, two sparse gradients (one empty), one key field:
    // every non-empty tensor is counted once, in place or gathered.
    CHECK(stats.in_place + stats.split + stats.misaligned == 4);
    CHECK(reinterpret_cast<uintptr_t>(view->sparse_keys[0].data()) % alignof(uint64_t) == 0);
  }
}

TEST_CASE("what EncodePush writes from the worker's memory decodes without a copy") {
  PushRequest header = SamplePush();
  header.clear_gradients();
  const std::vector<float> gradient(1000, 0.5f);
  header.mutable_slices()->DeleteSubrange(1, 1);
  header.mutable_slices(0)->set_end(1002);
  // Only the dense gradient: keys would travel in the header's slice,
  // wherever protobuf put them (and be gathered if that is misaligned).
  header.clear_sparse();
  header.clear_sparse_gradients();
  AliasedSlices aliases;
  const grpc::ByteBuffer buffer = EncodePush(
      header, {absl::string_view(reinterpret_cast<const char*>(gradient.data()), 4000)}, &aliases);
  PushDecodeStats stats;
  absl::StatusOr<PushView> view = DecodePush(buffer, &stats);
  REQUIRE(view.ok());
  // The payload slice aliases `gradient`: the view points at it.
  REQUIRE(view->gradients.size() == 1);
  CHECK(view->gradients[0].data() == reinterpret_cast<const char*>(gradient.data()));
  CHECK(view->gradients[0].size() == 4000);
  CHECK(stats.split == 0);
  CHECK(stats.misaligned == 0);
  CHECK(view->header.slices(0).end() == 1002);
}

TEST_CASE("a gradient in one slice is viewed in place at any address; one across slices is gathered") {
  PushRequest push;
  push.set_job_id("j");
  push.add_slices()->set_table("w");
  push.add_gradients(Floats({1, 2, 3, 4}));
  const std::string bytes = push.SerializeAsString();
  const size_t payload = bytes.size() - 16;  // the gradient field comes last

  // Placed so that the payload falls on a multiple of 8, then one byte on.
  alignas(64) char storage[256];
  for (size_t shift : {size_t{0}, size_t{1}}) {
    const size_t at = (64 - payload % 8) % 8 + shift;
    std::memcpy(storage + at, bytes.data(), bytes.size());
    PushDecodeStats stats;
    absl::StatusOr<PushView> view = DecodePush(InPlace(storage + at, bytes.size()), &stats);
    REQUIRE(view.ok());
    CHECK(ToRequest(*view).SerializeAsString() == bytes);
    const char* where = storage + at + payload;
    CHECK(view->gradients[0].data() == where);
    CHECK(stats.in_place == 1);
  }
  PushDecodeStats stats;
  REQUIRE(DecodePush(Sliced(bytes, bytes.size() - 5), &stats).ok());
  CHECK(stats.split == 1);
}

TEST_CASE("keys not at a multiple of 8 are gathered to one that is") {
  PushRequest push;
  push.set_job_id("j");
  SparseSlice* slice = push.add_sparse();
  slice->set_table("e");
  slice->set_keys(std::string(16, '\x01'));
  push.add_sparse_gradients("");
  const std::string bytes = push.SerializeAsString();
  const size_t payload = bytes.find(std::string(16, '\x01'));
  REQUIRE(payload != std::string::npos);
  alignas(64) char storage[256];
  for (size_t shift : {size_t{0}, size_t{4}}) {
    const size_t at = (64 - payload % 8) % 8 + shift;
    std::memcpy(storage + at, bytes.data(), bytes.size());
    PushDecodeStats stats;
    absl::StatusOr<PushView> view = DecodePush(InPlace(storage + at, bytes.size()), &stats);
    REQUIRE(view.ok());
    CHECK(ToRequest(*view).SerializeAsString() == bytes);
    CHECK(reinterpret_cast<uintptr_t>(view->sparse_keys[0].data()) % 8 == 0);
    CHECK((view->sparse_keys[0].data() == storage + at + payload) == (shift == 0));
    CHECK(stats.misaligned == (shift == 0 ? 0 : 1));
  }
}

TEST_CASE("the decoded view outlives the buffer it came from") {
  const PushRequest push = SamplePush();
  absl::StatusOr<PushView> view;
  {
    std::string bytes = push.SerializeAsString();
    grpc::ByteBuffer buffer = Sliced(bytes, 16);
    view = DecodePush(buffer);
    bytes.assign(bytes.size(), 'x');
  }
  REQUIRE(view.ok());
  CheckSame(*view, push);
}

TEST_CASE("every truncation of a push is refused or is a shorter valid push, as protobuf says") {
  const std::string bytes = SamplePush().SerializeAsString();
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::string prefix = bytes.substr(0, n);
    PushRequest reference;
    const bool parses = reference.ParseFromString(prefix);
    const absl::Status status = DecodeStatus(prefix);
    INFO("the first " << n << " bytes");
    CHECK(status.ok() == parses);
    if (!status.ok()) {
      CHECK(status.code() == absl::StatusCode::kInvalidArgument);
      CHECK(absl::StartsWith(status.message(), "malformed push: "));
    }
  }
}

TEST_CASE("unknown fields, wrong wire types and bad names are refused, naming the problem") {
  const std::string good = SamplePush().SerializeAsString();
  CheckRefused(good + Varint(16 << 3) + Varint(1), "unknown field 16");
  CheckRefused(good + Varint(6 << 3) + Varint(1), "field 6 has wire type 0");
  CheckRefused(good + Varint(3 << 3 | 2) + Varint(0), "field 3 has wire type 2");
  CheckRefused(LengthField(5, LengthField(1, "w") + Varint(4 << 3) + Varint(1)),
               "a slice has unknown field 4");
  CheckRefused(LengthField(5, Varint(2 << 3 | 2) + Varint(0)), "field 2 of a slice has wire type 2");
  CheckRefused(LengthField(8, LengthField(1, "emb") + LengthField(3, "x")),
               "a sparse slice has unknown field 3");
  CheckRefused(LengthField(8, LengthField(2, "12345678") + Varint(1 << 3) + Varint(1)),
               "a sparse slice has unknown field 1 (wire type 0)");
  CheckRefused(LengthField(8, LengthField(2, "1234567812345678")).substr(0, 12),
               "declares");
  CheckRefused(LengthField(6, "abcd").substr(0, 4), "field 6 declares 4 bytes; 2 remain");
  CheckRefused(LengthField(1, "\xff\xfe"), "do not parse as a PushRequest");
  CheckRefused(Varint(0), "unknown field 0");
  CheckRefused(std::string(11, '\xff'), "truncated tag");
  CheckRefused(Varint(3 << 3) + std::string(10, '\x80'), "field 3 is truncated");
  CheckRefused(Varint(3 << 5 | 3), "wire type 3");  // a group
}

TEST_CASE("garbage never decodes to what protobuf would refuse") {
  std::mt19937 random(17);
  const std::string good = SamplePush().SerializeAsString();
  for (int trial = 0; trial < 3000; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(random() % 4);
    for (int k = 0; k < flips; ++k) bytes[random() % bytes.size()] = static_cast<char>(random());
    if (trial % 3 == 0) bytes.resize(random() % bytes.size());
    PushRequest reference;
    const bool parses = reference.ParseFromString(bytes);
    absl::StatusOr<PushView> view = DecodePush(Sliced(bytes, 1 + random() % 40));
    if (!parses) CHECK_FALSE(view.ok());
    if (view.ok()) {
      CHECK(ToRequest(*view).SerializeAsString() == reference.SerializeAsString());
    } else {
      CHECK(view.status().code() == absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST_CASE("request limits count the keys of a decoded push") {
  PushRequest push;
  push.set_job_id("job-1");
  SparseSlice* slice = push.add_sparse();
  slice->set_table("emb");
  slice->set_keys(std::string((kMaxKeysPerRequest + 1) * sizeof(uint64_t), '\0'));
  push.add_sparse_gradients("");
  absl::StatusOr<PushView> view = DecodePush(Sliced(push.SerializeAsString(), 1 << 20));
  REQUIRE(view.ok());
  const absl::Status status = CheckRequestLimits(*view);
  CHECK(status.code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(status.message()), Catch::Contains("sparse keys"));
  push.mutable_sparse(0)->set_keys(std::string(8 * 10, '\0'));
  view = DecodePush(Sliced(push.SerializeAsString(), 1 << 20));
  REQUIRE(view.ok());
  CHECK(CheckRequestLimits(*view).ok());
}

}  // namespace
}  // namespace petrel

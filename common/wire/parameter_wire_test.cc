// The hand-written wire format must be exactly what protobuf writes and
// reads: a push encoded here parses as the PushRequest it stands for, and a
// serialized PullResponse, however gRPC cuts it into slices, decodes into
// the same values.
#define CATCH_CONFIG_MAIN
#include "common/wire/parameter_wire.h"

#include <cmath>

#include "catch2/catch.hpp"
#include "common/wire/float_bytes.h"

namespace petrel {
namespace {

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  REQUIRE(buffer.Dump(&slices).ok());
  std::string out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

// `bytes` cut into slices of `piece` bytes.
grpc::ByteBuffer Sliced(const std::string& bytes, size_t piece) {
  std::vector<grpc::Slice> slices;
  for (size_t at = 0; at < bytes.size(); at += piece) {
    slices.emplace_back(bytes.data() + at, std::min(piece, bytes.size() - at));
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

TEST_CASE("an encoded push parses as the PushRequest it stands for, sent from the caller's memory") {
  PushRequest header;
  header.set_job_id("job-1");
  header.set_worker_id("worker-0");
  header.set_clock(42);
  header.set_part(1);
  header.set_parts(3);
  for (const char* table : {"a", "b", "c"}) header.add_slices()->set_table(table);
  header.add_sparse()->set_table("emb");
  header.add_sparse_gradients("abcd");
  std::vector<float> a(1000), b;  // b: an empty gradient still counts
  for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(i);
  std::vector<float> c = {1.5f, -2.5f};

  AliasedSlices aliases;
  {
    auto bytes = [](const std::vector<float>& v) {
      return absl::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
    };
    grpc::ByteBuffer wire = EncodePush(header, {bytes(a), bytes(b), bytes(c)}, &aliases);
    CHECK(aliases.outstanding() == 2);  // a and c are aliased, not copied
    PushRequest parsed;
    REQUIRE(parsed.ParseFromString(Flatten(wire)));
    PushRequest expected = header;
    for (const auto* g : {&a, &b, &c}) FloatsToBytes(*g, expected.add_gradients());
    CHECK(parsed.SerializeAsString() == expected.SerializeAsString());
  }
  CHECK(aliases.outstanding() == 0);  // the buffer let go of them
}

TEST_CASE("a pull response decodes into the caller's buffers however it is sliced") {
  PullResponse response;
  std::vector<float> v0(777), v1(3);
  for (size_t i = 0; i < v0.size(); ++i) v0[i] = std::cos(i);
  v1 = {7, 8, 9};
  FloatsToBytes(v0, response.add_values());
  FloatsToBytes(v1, response.add_values());
  response.add_sparse_rows("rows-0");
  const std::string bytes = response.SerializeAsString();

  for (size_t piece : {size_t{1}, size_t{3}, size_t{1000}, bytes.size()}) {
    INFO("slices of " << piece << " bytes");
    std::vector<float> out0(777), out1(3);
    std::vector<std::string> sparse;
    absl::Status status = DecodePullResponse(
        Sliced(bytes, piece),
        [&](int i, int64_t size) -> char* {
          std::vector<float>& out = i == 0 ? out0 : out1;
          if (i > 1 || size != static_cast<int64_t>(out.size() * 4)) return nullptr;
          return reinterpret_cast<char*>(out.data());
        },
        &sparse);
    REQUIRE(status.ok());
    CHECK(out0 == v0);
    CHECK(out1 == v1);
    CHECK(sparse == std::vector<std::string>{"rows-0"});
  }

  SECTION("a slice of the wrong size or a truncated message is an error") {
    std::vector<std::string> sparse;
    absl::Status wrong = DecodePullResponse(
        Sliced(bytes, 64), [](int, int64_t) -> char* { return nullptr; }, &sparse);
    CHECK(wrong.code() == absl::StatusCode::kInternal);
    CHECK(wrong.message().find("wrong size") != std::string::npos);
    std::vector<char> sink(4000);
    absl::Status truncated = DecodePullResponse(
        Sliced(bytes.substr(0, bytes.size() / 2), 64),
        [&](int, int64_t) -> char* { return sink.data(); }, &sparse);
    CHECK(truncated.code() == absl::StatusCode::kInternal);
  }
}

TEST_CASE("an encoded pull response hands over its strings and parses as the original") {
  PullResponse response;
  response.add_values(std::string(1 << 20, 'v'));
  response.add_values("");
  response.add_values("abc");
  response.add_sparse_rows("rows");
  const PullResponse original = response;
  grpc::ByteBuffer wire = EncodePullResponse(&response);
  CHECK(response.values_size() == 0);
  CHECK(response.sparse_rows_size() == 0);
  PullResponse parsed;
  REQUIRE(parsed.ParseFromString(Flatten(wire)));
  CHECK(parsed.SerializeAsString() == original.SerializeAsString());
}

TEST_CASE("a push-pull answer encodes like a pull answer and decodes into the caller's buffers") {
  PushResponse response;
  const std::vector<float> first = {1.5f, -2.0f, 3.25f}, second = {7.0f};
  FloatsToBytes(first, response.add_values());
  FloatsToBytes(second, response.add_values());
  const PushResponse original = response;
  grpc::ByteBuffer wire = EncodePushResponse(&response);
  CHECK(response.values_size() == 0);
  const std::string bytes = Flatten(wire);
  PushResponse parsed;
  REQUIRE(parsed.ParseFromString(bytes));
  CHECK(parsed.SerializeAsString() == original.SerializeAsString());
  // The same bytes are a PullResponse with those values.
  PullResponse as_pull;
  REQUIRE(as_pull.ParseFromString(bytes));
  REQUIRE(as_pull.values_size() == 2);
  CHECK(as_pull.values(0) == original.values(0));

  std::vector<float> out(4, 0.0f);
  std::vector<std::string> sparse;
  REQUIRE(DecodePullResponse(
              Sliced(bytes, 5),
              [&](int i, int64_t size) -> char* {
                return reinterpret_cast<char*>(out.data() + (i == 0 ? 0 : 3));
              },
              &sparse)
              .ok());
  CHECK(out == std::vector<float>{1.5f, -2.0f, 3.25f, 7.0f});
  CHECK(sparse.empty());
}

}  // namespace
}  // namespace petrel

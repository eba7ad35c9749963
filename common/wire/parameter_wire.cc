#include "common/wire/parameter_wire.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/wire/varint.h"
#include "absl/time/clock.h"

namespace petrel {
namespace {

// Field numbers and the length-delimited wire type (parameter.proto).
constexpr int kPushGradients = 6;
constexpr int kPullValues = 1;
constexpr int kPullSparseRows = 2;
constexpr int kWireVarint = 0, kWireFixed64 = 1, kWireLength = 2, kWireFixed32 = 5;

// Reads across the slices of a ByteBuffer.
class SliceReader {
 public:
  explicit SliceReader(std::vector<grpc::Slice> slices) : slices_(std::move(slices)) { Skip0(); }

  bool done() const { return slice_ == slices_.size(); }

  bool ReadVarint(uint64_t* value) {
    *value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (done()) return false;
      const uint8_t byte = slices_[slice_].begin()[offset_];
      Advance(1);
      *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;
  }

  // Copies `size` bytes to `out` (nullptr: skips them).
  bool Read(char* out, uint64_t size) {
    while (size > 0) {
      if (done()) return false;
      const size_t available = slices_[slice_].size() - offset_;
      const size_t n = std::min<uint64_t>(size, available);
      if (out != nullptr) {
        std::memcpy(out, slices_[slice_].begin() + offset_, n);
        out += n;
      }
      Advance(n);
      size -= n;
    }
    return true;
  }

 private:
  void Advance(size_t n) {
    offset_ += n;
    if (offset_ == slices_[slice_].size()) {
      ++slice_;
      offset_ = 0;
      Skip0();
    }
  }
  void Skip0() {
    while (slice_ < slices_.size() && slices_[slice_].size() == 0) ++slice_;
  }

  std::vector<grpc::Slice> slices_;
  size_t slice_ = 0, offset_ = 0;
};

}  // namespace

grpc::Slice AliasedSlices::Alias(const void* data, size_t size) {
  outstanding_.fetch_add(1);
  return grpc::Slice(const_cast<void*>(data), size, &AliasedSlices::Release, this);
}

void AliasedSlices::Release(void* self) {
  static_cast<AliasedSlices*>(self)->outstanding_.fetch_sub(1);
}

void AliasedSlices::Drain() {
  const absl::Time give_up = absl::Now() + absl::Seconds(2);
  while (outstanding_.load() > 0 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(1));
}

grpc::ByteBuffer EncodePush(const PushRequest& header,
                            const std::vector<absl::string_view>& gradients,
                            AliasedSlices* aliases) {
  std::vector<grpc::Slice> slices;
  slices.reserve(1 + 2 * gradients.size());
  std::string prefix = header.SerializeAsString();
  for (absl::string_view gradient : gradients) {
    // Tag and length are copied with whatever precedes them; the payload is not.
    PutVarint((kPushGradients << 3) | kWireLength, &prefix);
    PutVarint(gradient.size(), &prefix);
    slices.emplace_back(prefix.data(), prefix.size());
    prefix.clear();
    if (!gradient.empty()) slices.push_back(aliases->Alias(gradient.data(), gradient.size()));
  }
  if (!prefix.empty()) slices.emplace_back(prefix.data(), prefix.size());
  return grpc::ByteBuffer(slices.data(), slices.size());
}

namespace {

void DeleteString(void* string) { delete static_cast<std::string*>(string); }

// Appends field `field` holding `*owned` (which the slice then owns).
void AppendOwned(int field, std::string* owned, std::string* prefix,
                 std::vector<grpc::Slice>* slices) {
  PutVarint((field << 3) | kWireLength, prefix);
  PutVarint(owned->size(), prefix);
  slices->emplace_back(prefix->data(), prefix->size());
  prefix->clear();
  if (owned->empty()) {
    delete owned;
  } else {
    slices->emplace_back(owned->data(), owned->size(), &DeleteString, owned);
  }
}

// Pull and push answers share their layout: field 1 the values, field 2
// the sparse rows.
grpc::ByteBuffer EncodeAnswer(google::protobuf::RepeatedPtrField<std::string>* values,
                              google::protobuf::RepeatedPtrField<std::string>* sparse_rows) {
  std::vector<grpc::Slice> slices;
  std::string prefix;
  for (auto [field, strings] : {std::pair{kPullValues, values},
                                std::pair{kPullSparseRows, sparse_rows}}) {
    // ReleaseLast hands them over from the back.
    std::vector<std::string*> released;
    while (!strings->empty()) released.push_back(strings->ReleaseLast());
    for (auto it = released.rbegin(); it != released.rend(); ++it) {
      AppendOwned(field, *it, &prefix, &slices);
    }
  }
  return grpc::ByteBuffer(slices.data(), slices.size());
}

}  // namespace

grpc::ByteBuffer EncodePullResponse(PullResponse* response) {
  return EncodeAnswer(response->mutable_values(), response->mutable_sparse_rows());
}

grpc::ByteBuffer EncodePushResponse(PushResponse* response) {
  return EncodeAnswer(response->mutable_values(), response->mutable_sparse_rows());
}

absl::Status DecodePullResponse(const grpc::ByteBuffer& buffer,
                                const std::function<char*(int index, int64_t size)>& values_sink,
                                std::vector<std::string>* sparse_rows) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return absl::InternalError("unreadable pull response");
  SliceReader reader(std::move(slices));
  int values = 0;
  auto malformed = [](const char* what) {
    return absl::InternalError(absl::StrCat("malformed pull response: ", what));
  };
  while (!reader.done()) {
    uint64_t tag;
    if (!reader.ReadVarint(&tag)) return malformed("truncated tag");
    const int field = static_cast<int>(tag >> 3), wire = static_cast<int>(tag & 7);
    uint64_t size = 0;
    switch (wire) {
      case kWireVarint:
        if (!reader.ReadVarint(&size)) return malformed("truncated varint");
        continue;
      case kWireFixed64:
        if (!reader.Read(nullptr, 8)) return malformed("truncated fixed64");
        continue;
      case kWireFixed32:
        if (!reader.Read(nullptr, 4)) return malformed("truncated fixed32");
        continue;
      case kWireLength:
        if (!reader.ReadVarint(&size)) return malformed("truncated length");
        break;
      default:
        return malformed("unknown wire type");
    }
    if (size > buffer.Length()) return malformed("a field longer than the message");
    char* out = nullptr;
    if (field == kPullValues) {
      out = values_sink(values, static_cast<int64_t>(size));
      if (out == nullptr) {
        return absl::InternalError(
            absl::StrCat("pull response slice ", values, " has the wrong size (", size, " bytes)"));
      }
      ++values;
    } else if (field == kPullSparseRows) {
      sparse_rows->emplace_back(size, '\0');
      out = sparse_rows->back().data();
    }
    if (!reader.Read(out, size)) return malformed("truncated field");
  }
  return absl::OkStatus();
}

}  // namespace petrel

#include "common/wire/push_wire.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/wire/varint.h"

namespace petrel {
namespace {

constexpr int kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5;

// PushRequest's fields (parameter.proto) and the wire type each must have;
// -1: no such field.
int ExpectedWireType(uint64_t field) {
  switch (field) {
    case 1:   // job_id
    case 2:   // worker_id
    case 5:   // slices
    case 6:   // gradients
    case 8:   // sparse
    case 9:   // sparse_gradients
    case 14:  // weight
      return kLength;
    case 3:   // clock
    case 4:   // shard_map_epoch
    case 7:   // leave
    case 10:  // part
    case 11:  // parts
    case 12:  // encoding
    case 13:  // shard_group
    case 15:  // pull_next
      return kVarint;
    default:
      return -1;
  }
}

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("malformed push: ", what));
}

// What the view's owner keeps alive.
struct Received {
  std::vector<grpc::Slice> slices;
  std::vector<std::unique_ptr<char[]>> gathered;
};

// Reads across a message's slices, tracking the position in the message.
class Cursor {
 public:
  Cursor(Received* received, int64_t size) : received_(received), size_(size) { SkipEmpty(); }

  int64_t position() const { return position_; }
  int64_t remaining() const { return size_ - position_; }

  bool ReadVarint(uint64_t* value) {
    *value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (remaining() == 0) return false;
      const uint8_t byte = Current()[0];
      Advance(1);
      *value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;  // more than 10 bytes
  }

  // Appends the next `size` bytes to `out` (nullptr: skips them).
  bool Copy(uint64_t size, std::string* out) {
    if (size > static_cast<uint64_t>(remaining())) return false;
    while (size > 0) {
      const size_t n = std::min<uint64_t>(size, InSlice());
      if (out != nullptr) out->append(reinterpret_cast<const char*>(Current()), n);
      Advance(n);
      size -= n;
    }
    return true;
  }

  // The next `size` bytes, in place where they lie in one slice at an
  // address that is a multiple of `align`, else gathered into one buffer.
  bool View(uint64_t size, size_t align, absl::string_view* out, PushDecodeStats* stats) {
    if (size > static_cast<uint64_t>(remaining())) return false;
    if (size == 0) {
      *out = absl::string_view();
      return true;
    }
    const char* here = reinterpret_cast<const char*>(Current());
    if (size <= InSlice() && reinterpret_cast<uintptr_t>(here) % align == 0) {
      *out = absl::string_view(here, size);
      Advance(size);
      ++stats->in_place;
      return true;
    }
    ++(size <= InSlice() ? stats->misaligned : stats->split);
    stats->gathered_bytes += size;
    // new char[] is aligned for any fundamental type.
    auto& buffer = received_->gathered.emplace_back(new char[size]);
    char* to = buffer.get();
    for (uint64_t left = size; left > 0;) {
      const size_t n = std::min<uint64_t>(left, InSlice());
      std::memcpy(to, Current(), n);
      to += n;
      left -= n;
      Advance(n);
    }
    *out = absl::string_view(buffer.get(), size);
    return true;
  }

 private:
  const uint8_t* Current() const { return received_->slices[slice_].begin() + offset_; }
  size_t InSlice() const { return received_->slices[slice_].size() - offset_; }
  void Advance(size_t n) {
    offset_ += n;
    position_ += n;
    if (offset_ == received_->slices[slice_].size()) {
      ++slice_;
      offset_ = 0;
      SkipEmpty();
    }
  }
  void SkipEmpty() {
    while (slice_ < received_->slices.size() && received_->slices[slice_].size() == 0) ++slice_;
  }

  Received* received_;
  const int64_t size_;
  int64_t position_ = 0;
  size_t slice_ = 0, offset_ = 0;
};

// Copies field `field` (its tag already read) with its value into `out`,
// protobuf's wire format, for protobuf to parse with the other small fields.
bool CopyField(uint64_t field, int wire, Cursor* cursor, std::string* out) {
  PutVarint(field << 3 | wire, out);
  uint64_t value;
  switch (wire) {
    case kVarint:
      if (!cursor->ReadVarint(&value)) return false;
      PutVarint(value, out);
      return true;
    case kLength:
      if (!cursor->ReadVarint(&value)) return false;
      PutVarint(value, out);
      return cursor->Copy(value, out);
    case kFixed64:
      return cursor->Copy(8, out);
    case kFixed32:
      return cursor->Copy(4, out);
  }
  return false;
}

// Checks that `bytes` (a Slice message) holds only Slice's fields, each
// with its wire type: table = 1 (length), begin = 2 and end = 3 (varints).
absl::Status CheckSliceFields(absl::string_view bytes) {
  Received flat;
  flat.slices.emplace_back(bytes.data(), bytes.size(), grpc::Slice::STATIC_SLICE);
  Cursor cursor(&flat, static_cast<int64_t>(bytes.size()));
  while (cursor.remaining() > 0) {
    uint64_t tag;
    if (!cursor.ReadVarint(&tag)) return Malformed("a slice has a truncated tag");
    const uint64_t field = tag >> 3;
    const int wire = static_cast<int>(tag & 7);
    if (field < 1 || field > 3) return Malformed(absl::StrCat("a slice has unknown field ", field));
    if (wire != (field == 1 ? kLength : kVarint)) {
      return Malformed(absl::StrCat("field ", field, " of a slice has wire type ", wire));
    }
    std::string ignored;
    if (!CopyField(field, wire, &cursor, &ignored)) return Malformed("a slice is truncated");
  }
  return absl::OkStatus();
}

// Field 8, a SparseSlice of `size` bytes: its table goes into `header` (as
// field 8 holding only the table), its keys are viewed.
absl::Status ReadSparseSlice(uint64_t size, Cursor* cursor, std::string* header,
                             absl::string_view* keys, PushDecodeStats* stats) {
  if (size > static_cast<uint64_t>(cursor->remaining())) {
    return Malformed("a sparse slice is longer than the message");
  }
  const int64_t end = cursor->position() + static_cast<int64_t>(size);
  std::string table;  // the last one wins, as in protobuf
  *keys = absl::string_view();
  while (cursor->position() < end) {
    uint64_t tag, length;
    if (!cursor->ReadVarint(&tag) || !cursor->ReadVarint(&length) ||
        cursor->position() > end) {
      return Malformed("a sparse slice has a truncated field");
    }
    const uint64_t field = tag >> 3;
    if ((field != 1 && field != 2) || (tag & 7) != kLength) {
      return Malformed(absl::StrCat("a sparse slice has unknown field ", field, " (wire type ",
                                    tag & 7, ")"));
    }
    if (length > static_cast<uint64_t>(end - cursor->position())) {
      return Malformed("a field of a sparse slice runs past its end");
    }
    if (field == 1) {
      table.clear();
      cursor->Copy(length, &table);
    } else {
      cursor->View(length, alignof(uint64_t), keys, stats);
    }
  }
  std::string slice;
  if (!table.empty()) {
    PutVarint(1 << 3 | kLength, &slice);
    PutVarint(table.size(), &slice);
    slice += table;
  }
  PutVarint(8 << 3 | kLength, header);
  PutVarint(slice.size(), header);
  *header += slice;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PushView> DecodePush(const grpc::ByteBuffer& buffer, PushDecodeStats* stats) {
  PushDecodeStats ignored;
  if (stats == nullptr) stats = &ignored;
  auto received = std::make_shared<Received>();
  if (!buffer.Dump(&received->slices).ok()) return Malformed("gRPC could not read the message");
  Cursor cursor(received.get(), static_cast<int64_t>(buffer.Length()));
  PushView view;
  std::string header;  // the small fields, for protobuf
  while (cursor.remaining() > 0) {
    uint64_t tag;
    if (!cursor.ReadVarint(&tag)) return Malformed("truncated tag");
    const uint64_t field = tag >> 3;
    const int wire = static_cast<int>(tag & 7);
    const int expected = ExpectedWireType(field);
    if (expected < 0) {
      return Malformed(absl::StrCat("unknown field ", field, " (wire type ", wire,
                                    ") at byte ", cursor.position()));
    }
    if (wire != expected) {
      return Malformed(absl::StrCat("field ", field, " has wire type ", wire, "; expected ",
                                    expected));
    }
    if (field == 5) {  // a Slice: copied for protobuf once it holds only Slice's fields
      uint64_t size;
      std::string slice;
      if (!cursor.ReadVarint(&size) || !cursor.Copy(size, &slice)) {
        return Malformed("a slice is truncated");
      }
      if (absl::Status fields = CheckSliceFields(slice); !fields.ok()) return fields;
      PutVarint(tag, &header);
      PutVarint(size, &header);
      header += slice;
      continue;
    }
    if (field != 6 && field != 8 && field != 9) {
      if (!CopyField(field, wire, &cursor, &header)) {
        return Malformed(absl::StrCat("field ", field, " is truncated"));
      }
      continue;
    }
    uint64_t size;
    if (!cursor.ReadVarint(&size)) return Malformed(absl::StrCat("field ", field, " is truncated"));
    if (size > static_cast<uint64_t>(cursor.remaining())) {
      return Malformed(absl::StrCat("field ", field, " declares ", size, " bytes; ",
                                    cursor.remaining(), " remain"));
    }
    if (field == 8) {
      absl::string_view keys;
      if (absl::Status read = ReadSparseSlice(size, &cursor, &header, &keys, stats); !read.ok()) {
        return read;
      }
      view.sparse_keys.push_back(keys);
      continue;
    }
    // Gradients at any address: the server reads them as bytes where it
    // can (server/table_shards_apply.cc).
    absl::string_view bytes;
    cursor.View(size, 1, &bytes, stats);
    (field == 6 ? view.gradients : view.sparse_gradients).push_back(bytes);
  }
  if (!view.header.ParseFromString(header)) {
    return Malformed("its fields do not parse as a PushRequest (a name that is not UTF-8?)");
  }
  view.owner = std::move(received);
  return view;
}

}  // namespace petrel

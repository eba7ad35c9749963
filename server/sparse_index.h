// The key -> row index of a sparse table shard: open addressing with linear
// probing over 16-byte slots (key, row), so a lookup usually touches one
// cache line, and a caller can prefetch that line for keys it will look up
// soon. absl::flat_hash_map, used before, has a prefetch() too, but with
// Debian's Abseil (20220623) and GCC 12 it compiles to nothing, and its
// control bytes and slots are two lines apart.
//
// Rows are never removed, so there are no tombstones. The table doubles
// when it would be more than 7/10 full; the hash (a 64-bit mixer, its top
// bits) is unrelated to SparseShardOf's, so the keys one shard holds, which
// agree in SparseShardOf, still spread over the whole table, sequential ids
// as well as random keys.
#ifndef PETREL_SERVER_SPARSE_INDEX_H_
#define PETREL_SERVER_SPARSE_INDEX_H_

#include <cstdint>
#include <memory>

namespace petrel::server {

class SparseIndex {
 public:
  SparseIndex() { Grow(); }  // never without slots: see Prefetch
  SparseIndex(const SparseIndex&) = delete;
  SparseIndex& operator=(const SparseIndex&) = delete;

  int64_t size() const { return size_; }
  int64_t capacity() const { return capacity_; }
  static constexpr int64_t kSlotBytes = 2 * sizeof(uint64_t);

  // The row of `key`, or nullptr.
  float* Find(uint64_t key) const {
    for (uint64_t i = Home(key);; i = (i + 1) & mask_) {
      const Slot& slot = slots_[i];
      if (slot.row == nullptr) return nullptr;
      if (slot.key == key) return slot.row;
    }
  }

  // The row of `key`; when there is none, `make()` is called and its row
  // (never nullptr) stored for `key`.
  template <typename Make>
  float* FindOrInsert(uint64_t key, Make make) {
    if ((size_ + 1) * 10 > capacity_ * 7) Grow();
    for (uint64_t i = Home(key);; i = (i + 1) & mask_) {
      Slot& slot = slots_[i];
      if (slot.row == nullptr) {
        slot.key = key;
        slot.row = make();
        ++size_;
        return slot.row;
      }
      if (slot.key == key) return slot.row;
    }
  }

  // Starts fetching the cache line where a lookup of `key` begins. On
  // x86-64 an explicit prefetcht0: GCC 12 silently drops __builtin_prefetch
  // of an address hashed like this one (and of absl's), seen in the object
  // code. Never under an `if` either, which GCC also drops it from.
  void Prefetch(uint64_t key) const {
    const Slot* slot = slots_.get() + Home(key);
#if defined(__x86_64__)
    asm volatile("prefetcht0 %0" : : "m"(*slot));
#else
    __builtin_prefetch(slot);
#endif
  }

  // Calls visit(key, row) for every key, in slot order.
  template <typename Visit>
  void ForEach(const Visit& visit) const {
    for (int64_t i = 0; i < capacity_; ++i) {
      if (slots_[i].row != nullptr) visit(slots_[i].key, static_cast<const float*>(slots_[i].row));
    }
  }

 private:
  struct Slot {
    uint64_t key;
    float* row;  // nullptr: empty
  };

  static uint64_t Mix(uint64_t x) {
    // An xor-shift-multiply finaliser with its own constant, not
    // MurmurHash3's, which SparseShardOf uses.
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ULL;
    x ^= x >> 32;
    return x;
  }
  uint64_t Home(uint64_t key) const { return Mix(key) >> shift_; }
  void Grow();

  std::unique_ptr<Slot[]> slots_;
  int64_t capacity_ = 0;  // a power of two, once constructed
  uint64_t mask_ = 0;
  int shift_ = 64;  // 64 - log2(capacity_)
  int64_t size_ = 0;
};

}  // namespace petrel::server

#endif  // PETREL_SERVER_SPARSE_INDEX_H_

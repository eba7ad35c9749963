#include "server/sparse_index.h"

namespace petrel::server {

void SparseIndex::Grow() {
  const int64_t capacity = capacity_ == 0 ? 64 : 2 * capacity_;
  // Value-initialised: every row nullptr, every slot empty.
  std::unique_ptr<Slot[]> slots(new Slot[capacity]());
  const uint64_t mask = capacity - 1;
  const int shift = 64 - __builtin_ctzll(capacity);
  for (int64_t i = 0; i < capacity_; ++i) {
    const Slot& old = slots_[i];
    if (old.row == nullptr) continue;
    uint64_t j = Mix(old.key) >> shift;
    while (slots[j].row != nullptr) j = (j + 1) & mask;
    slots[j] = old;
  }
  slots_ = std::move(slots);
  capacity_ = capacity;
  mask_ = mask;
  shift_ = shift;
}

}  // namespace petrel::server

// A push as the server applies it: the small fields as a PushRequest, the
// tensors (dense gradients, sparse keys and sparse gradients) as views into
// memory that something else owns. On the raw gRPC path (common/push_wire.h)
// that memory is gRPC's receive buffers, so the server applies, holds and
// forwards a push without copying its tensors; tests and in-process callers
// view a PushRequest they built (ViewOf).
#ifndef PETREL_COMMON_WIRE_PUSH_VIEW_H_
#define PETREL_COMMON_WIRE_PUSH_VIEW_H_

#include <memory>
#include <vector>

#include "absl/strings/string_view.h"
#include "proto/parameter.pb.h"

namespace petrel {

struct PushView {
  // Every field but `gradients` and `sparse_gradients`; each sparse(i)
  // carries its table and no keys.
  PushRequest header;
  std::vector<absl::string_view> gradients;         // [i]: of header.slices(i)
  std::vector<absl::string_view> sparse_keys;       // [i]: uint64 LE keys of header.sparse(i)
  std::vector<absl::string_view> sparse_gradients;  // [i]: keys x dim float32 of sparse(i)
  // Keeps the viewed bytes alive while the view is held. Null: the views
  // borrow the caller's memory and are good only during the call.
  std::shared_ptr<const void> owner;
};

// Views `request`'s tensors in place (no owner): good while `request` lives.
PushView ViewOf(const PushRequest& request);
// A view that owns `request` (moved, not copied).
PushView OwnedView(PushRequest request);
// The whole request, tensors copied (replica state transfers, federated
// uploads, and holding a borrowing view).
PushRequest ToRequest(const PushView& view);
// Makes `view` safe to hold past the call: a view without an owner gets
// one, a copy of its bytes; a view with one is left alone (no copy).
void Retain(PushView* view);
// Bytes of tensor payload the push carries, as they came over the wire.
int64_t PayloadBytes(const PushView& view);

}  // namespace petrel

#endif  // PETREL_COMMON_WIRE_PUSH_VIEW_H_

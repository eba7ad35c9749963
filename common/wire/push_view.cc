#include "common/wire/push_view.h"

#include <utility>

namespace petrel {
namespace {

// The request without its tensors. Field by field, so that the tensors are
// never copied on the way; a field added to PushRequest must be added here.
PushRequest HeaderOf(const PushRequest& request) {
  PushRequest header;
  header.set_job_id(request.job_id());
  header.set_worker_id(request.worker_id());
  header.set_clock(request.clock());
  header.set_shard_map_epoch(request.shard_map_epoch());
  *header.mutable_slices() = request.slices();
  header.set_leave(request.leave());
  for (const SparseSlice& slice : request.sparse()) header.add_sparse()->set_table(slice.table());
  header.set_part(request.part());
  header.set_parts(request.parts());
  header.set_encoding(request.encoding());
  header.set_shard_group(request.shard_group());
  header.set_weight(request.weight());
  header.set_pull_next(request.pull_next());
  return header;
}

}  // namespace

PushView ViewOf(const PushRequest& request) {
  PushView view;
  view.header = HeaderOf(request);
  view.gradients.assign(request.gradients().begin(), request.gradients().end());
  for (const SparseSlice& slice : request.sparse()) view.sparse_keys.push_back(slice.keys());
  view.sparse_gradients.assign(request.sparse_gradients().begin(),
                               request.sparse_gradients().end());
  return view;
}

PushView OwnedView(PushRequest request) {
  auto owned = std::make_shared<const PushRequest>(std::move(request));
  PushView view = ViewOf(*owned);
  view.owner = std::move(owned);
  return view;
}

PushRequest ToRequest(const PushView& view) {
  PushRequest request = view.header;
  for (absl::string_view bytes : view.gradients) request.add_gradients(bytes.data(), bytes.size());
  for (int i = 0; i < request.sparse_size() && i < static_cast<int>(view.sparse_keys.size()); ++i) {
    request.mutable_sparse(i)->set_keys(view.sparse_keys[i].data(), view.sparse_keys[i].size());
  }
  for (absl::string_view bytes : view.sparse_gradients) {
    request.add_sparse_gradients(bytes.data(), bytes.size());
  }
  return request;
}

void Retain(PushView* view) {
  if (view->owner == nullptr) *view = OwnedView(ToRequest(*view));
}

int64_t PayloadBytes(const PushView& view) {
  int64_t bytes = 0;
  for (absl::string_view gradient : view.gradients) bytes += gradient.size();
  for (absl::string_view gradient : view.sparse_gradients) bytes += gradient.size();
  return bytes;
}

}  // namespace petrel

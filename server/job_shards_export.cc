// JobShards' part in exporting a job's sparse tables: paging through the
// rows of one table in key order, so that a table of any size leaves the
// cluster in messages under the gRPC cap.
#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "server/job_shards.h"

namespace petrel::server {
namespace {

// A page stays well under kMaxMessageBytes (common/rpc.h) whatever the dim.
constexpr int64_t kMaxPageBytes = 16 << 20;

}  // namespace

absl::Status JobShards::ListSparseRows(const ListSparseRowsRequest& request,
                                       ListSparseRowsResponse* response) const {
  if (request.max_rows() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ListSparseRows: max_rows must be >= 0 (0: as many as fit), got ",
                     request.max_rows()));
  }
  absl::ReaderMutexLock lock(&mu_);
  if (!closed_.ok()) return closed_;
  if (awaiting_install_) return RebuildingError();
  auto it = sparse_.find(request.table());
  if (it == sparse_.end()) {
    return absl::NotFoundError(absl::StrCat("job ", job_id_, " has no sparse table \"",
                                            request.table(), "\" on ", server_id_));
  }
  const SparseRows& rows = *it->second.rows;
  const int64_t row_bytes = sizeof(uint64_t) + sizeof(float) * int64_t{rows.dim()};
  int64_t max_rows = std::max<int64_t>(1, kMaxPageBytes / row_bytes);
  if (request.max_rows() > 0) max_rows = std::min<int64_t>(max_rows, request.max_rows());
  std::optional<uint64_t> after;
  if (request.has_after_key()) after = request.after_key();
  std::vector<uint64_t> keys;
  std::vector<float> values;
  response->set_more(rows.Page(after, max_rows, &keys, &values));
  response->set_dim(rows.dim());
  response->set_total_rows(rows.rows());
  response->set_keys(reinterpret_cast<const char*>(keys.data()), keys.size() * sizeof(uint64_t));
  response->set_rows(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  return absl::OkStatus();
}

}  // namespace petrel::server

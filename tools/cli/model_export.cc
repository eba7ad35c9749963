#include "tools/cli/model_export.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/rpc/grpc_status.h"
#include "common/rpc/rpc.h"
#include "common/status_macros.h"
#include "grpcpp/client_context.h"
#include "nlohmann/json.hpp"
#include "proto/parameter.grpc.pb.h"
#include "client/ps_client.h"

namespace petrel::cli {

absl::StatusOr<std::vector<std::vector<float>>> FetchParameters(const ShardMap& shard_map,
                                                                ChannelFactory& channels) {
  worker::PsClientOptions options;
  options.job_id = shard_map.job_id();
  options.observer = true;
  options.channels = &channels;
  auto client = worker::NewGrpcPsClient(shard_map, options);
  std::vector<std::vector<float>> tables;
  PETREL_RETURN_IF_ERROR(client->Pull(/*clock=*/0, &tables));
  return tables;
}

namespace {

// Pages through one sparse shard's rows on its group's primary, appending
// them to `out`. A primary that is briefly unreachable (a failover) is
// retried for a while.
absl::Status FetchSparseShard(const ShardMap& shard_map, const SparseShard& shard,
                              int page_rows, ChannelFactory& channels, SparseTableRows* out) {
  auto stub = Parameter::NewStub(channels.Channel(shard.server_address()));
  ListSparseRowsRequest request;
  request.set_job_id(shard_map.job_id());
  request.set_shard_group(shard.group());
  request.set_table(shard.table());
  request.set_max_rows(page_rows);
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (true) {
    ListSparseRowsResponse page;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
    absl::Status status =
        FromGrpcStatus(stub->ListSparseRows(&context, request, &page),
                       absl::StrCat("listing rows of ", shard.table(), " on ", shard.server_id()));
    if (absl::IsUnavailable(status) && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    PETREL_RETURN_IF_ERROR(status);
    const size_t n = page.keys().size() / sizeof(uint64_t);
    if (page.keys().size() % sizeof(uint64_t) != 0 || page.dim() <= 0 ||
        page.rows().size() != n * page.dim() * sizeof(float) ||
        (out->dim != 0 && out->dim != page.dim())) {
      return absl::DataLossError(absl::StrCat(shard.server_id(), " sent a malformed page of ",
                                              shard.table()));
    }
    out->dim = page.dim();
    const size_t keys_before = out->keys.size(), rows_before = out->rows.size();
    out->keys.resize(keys_before + n);
    out->rows.resize(rows_before + n * page.dim());
    std::memcpy(out->keys.data() + keys_before, page.keys().data(), page.keys().size());
    std::memcpy(out->rows.data() + rows_before, page.rows().data(), page.rows().size());
    if (!page.more() || n == 0) return absl::OkStatus();
    request.set_has_after_key(true);
    request.set_after_key(out->keys.back());
  }
}

}  // namespace

absl::StatusOr<std::vector<SparseTableRows>> FetchSparseTables(const ShardMap& shard_map,
                                                               ChannelFactory& factory,
                                                               int page_rows) {
  std::vector<SparseTableRows> tables(shard_map.sparse_tables_size());
  for (int t = 0; t < shard_map.sparse_tables_size(); ++t) {
    const SparseTable& table = shard_map.sparse_tables(t);
    tables[t].dim = table.dim();
    for (const SparseShard& shard : shard_map.sparse_shards()) {
      if (shard.table() != table.name()) continue;
      PETREL_RETURN_IF_ERROR(FetchSparseShard(shard_map, shard, page_rows, factory, &tables[t]));
    }
    // Shards hold disjoint keys, each ascending: one order for the table.
    std::vector<size_t> order(tables[t].keys.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](size_t a, size_t b) { return tables[t].keys[a] < tables[t].keys[b]; });
    SparseTableRows sorted;
    sorted.dim = tables[t].dim;
    sorted.keys.reserve(order.size());
    sorted.rows.reserve(tables[t].rows.size());
    for (size_t i : order) {
      sorted.keys.push_back(tables[t].keys[i]);
      const float* row = tables[t].rows.data() + i * sorted.dim;
      sorted.rows.insert(sorted.rows.end(), row, row + sorted.dim);
    }
    tables[t] = std::move(sorted);
  }
  return tables;
}

std::string ParamsSha256(const ShardMap& shard_map,
                         const std::vector<std::vector<float>>& tables) {
  std::vector<int> order(shard_map.tables_size());
  for (int i = 0; i < shard_map.tables_size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return shard_map.tables(a).name() < shard_map.tables(b).name();
  });
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  for (int i : order) {
    EVP_DigestUpdate(context, tables[i].data(), tables[i].size() * sizeof(float));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(context, digest, &length);
  EVP_MD_CTX_free(context);
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) absl::StrAppendFormat(&hex, "%02x", digest[i]);
  return hex;
}

absl::Status WriteSafetensors(const std::string& path, const ShardMap& shard_map,
                              const std::vector<std::vector<float>>& tables,
                              const std::vector<SparseTableRows>& sparse) {
  if (tables.size() != static_cast<size_t>(shard_map.tables_size())) {
    return absl::InvalidArgumentError("table count does not match the shard map");
  }
  if (!sparse.empty() && sparse.size() != static_cast<size_t>(shard_map.sparse_tables_size())) {
    return absl::InvalidArgumentError("sparse table count does not match the shard map");
  }
  nlohmann::json header = {{"__metadata__", {{"job", shard_map.job_id()}, {"format", "pt"}}}};
  uint64_t offset = 0;
  // (name, bytes) of each tensor, in the order the data follows the header.
  std::vector<std::pair<std::string, std::string_view>> tensors;
  auto add = [&](const std::string& name, const char* dtype, std::vector<int64_t> shape,
                 std::string_view data) -> absl::Status {
    if (header.contains(name)) {
      return absl::InvalidArgumentError(
          absl::StrCat("two tensors would be named \"", name, "\" in ", path));
    }
    header[name] = {{"dtype", dtype},
                    {"shape", std::move(shape)},
                    {"data_offsets", {offset, offset + data.size()}}};
    offset += data.size();
    tensors.emplace_back(name, data);
    return absl::OkStatus();
  };
  for (int i = 0; i < shard_map.tables_size(); ++i) {
    const DenseTable& table = shard_map.tables(i);
    PETREL_RETURN_IF_ERROR(
        add(table.name(), "F32", std::vector<int64_t>(table.shape().begin(), table.shape().end()),
            {reinterpret_cast<const char*>(tables[i].data()), tables[i].size() * sizeof(float)}));
  }
  std::string sparse_names;
  for (size_t i = 0; i < sparse.size(); ++i) {
    const std::string& name = shard_map.sparse_tables(i).name();
    const SparseTableRows& rows = sparse[i];
    const int64_t n = static_cast<int64_t>(rows.keys.size());
    if (rows.rows.size() != static_cast<size_t>(n * rows.dim)) {
      return absl::InvalidArgumentError(
          absl::StrCat("sparse table ", name, ": ", n, " keys but ", rows.rows.size(), " floats"));
    }
    PETREL_RETURN_IF_ERROR(add(name + ".keys", "I64", {n},
                               {reinterpret_cast<const char*>(rows.keys.data()),
                                rows.keys.size() * sizeof(uint64_t)}));
    PETREL_RETURN_IF_ERROR(add(name + ".rows", "F32", {n, rows.dim},
                               {reinterpret_cast<const char*>(rows.rows.data()),
                                rows.rows.size() * sizeof(float)}));
    absl::StrAppend(&sparse_names, sparse_names.empty() ? "" : ",", name);
  }
  // safetensors metadata values are strings.
  if (!sparse_names.empty()) header["__metadata__"]["sparse_tables"] = sparse_names;
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const uint64_t header_size = text.size();

  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&header_size), sizeof(header_size));  // little-endian
    out.write(text.data(), text.size());
    for (const auto& [name, data] : tensors) out.write(data.data(), data.size());
    if (!out.good()) return absl::UnavailableError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace petrel::cli

#include "tools/cli/model_export.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status_macros.h"
#include "nlohmann/json.hpp"
#include "worker/ps_client.h"

namespace petrel::cli {

absl::StatusOr<std::vector<std::vector<float>>> FetchParameters(const ShardMap& shard_map) {
  worker::PsClientOptions options;
  options.job_id = shard_map.job_id();
  options.observer = true;
  auto client = worker::NewGrpcPsClient(shard_map, options);
  std::vector<std::vector<float>> tables;
  PETREL_RETURN_IF_ERROR(client->Pull(/*clock=*/0, &tables));
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
                              const std::vector<std::vector<float>>& tables) {
  if (tables.size() != static_cast<size_t>(shard_map.tables_size())) {
    return absl::InvalidArgumentError("table count does not match the shard map");
  }
  nlohmann::json header = {{"__metadata__", {{"job", shard_map.job_id()}, {"format", "pt"}}}};
  uint64_t offset = 0;
  for (int i = 0; i < shard_map.tables_size(); ++i) {
    const DenseTable& table = shard_map.tables(i);
    const uint64_t bytes = tables[i].size() * sizeof(float);
    header[table.name()] = {{"dtype", "F32"},
                            {"shape", std::vector<int64_t>(table.shape().begin(), table.shape().end())},
                            {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  const uint64_t header_size = text.size();

  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::binary);
    out.write(reinterpret_cast<const char*>(&header_size), sizeof(header_size));  // little-endian
    out.write(text.data(), text.size());
    for (const std::vector<float>& table : tables) {
      out.write(reinterpret_cast<const char*>(table.data()), table.size() * sizeof(float));
    }
    if (!out.good()) return absl::UnavailableError(absl::StrCat("cannot write ", temp));
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot rename ", temp, " to ", path));
  }
  return absl::OkStatus();
}

}  // namespace petrel::cli

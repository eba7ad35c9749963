// PsClient over gRPC: one request per server per step, carrying every slice
// that server holds, issued to all servers at once. Requests are built once
// and reused, so a step allocates nothing once the buffers have grown.
#include <cstring>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "common/float_bytes.h"
#include "common/grpc_status.h"
#include "common/model_tables.h"
#include "common/partition.h"
#include "common/rpc.h"
#include "common/status_macros.h"
#include "proto/parameter.grpc.pb.h"
#include "spdlog/spdlog.h"
#include "worker/ps_client.h"

namespace petrel::worker {
namespace {

class GrpcPsClient : public PsClient {
 public:
  GrpcPsClient(const ShardMap& map, PsClientOptions options) : options_(std::move(options)) {
    // Requests and their callbacks point into servers_: it must never move.
    servers_.reserve(map.ranges_size() + map.sparse_shards_size());
    for (const DenseTable& table : map.tables()) {
      table_index_[table.name()] = table_sizes_.size();
      table_sizes_.push_back(TableSize(table));
    }
    for (const ShardRange& range : map.ranges()) {
      Server& server = ServerFor(map, range.server_id(), range.server_address());
      Slice* slice = server.pull.request.add_slices();
      slice->set_table(range.table());
      slice->set_begin(range.begin());
      slice->set_end(range.end());
      *server.push.request.add_slices() = *slice;
      server.push.request.add_gradients();
      server.placements.push_back({table_index_.at(range.table()), range.begin(), range.end()});
    }
    for (int t = 0; t < map.sparse_tables_size(); ++t) {
      sparse_dims_.push_back(map.sparse_tables(t).dim());
      sparse_shards_.emplace_back();
      for (const SparseShard& shard : map.sparse_shards()) {
        if (shard.table() != map.sparse_tables(t).name()) continue;
        Server& server = ServerFor(map, shard.server_id(), shard.server_address());
        sparse_shards_[t].resize(shard.count());
        sparse_shards_[t][shard.index()] = {&server - servers_.data(),
                                            static_cast<size_t>(server.sparse.size())};
        server.sparse.push_back({static_cast<size_t>(t), {}});
        server.pull.request.add_sparse()->set_table(shard.table());
        server.push.request.add_sparse()->set_table(shard.table());
        server.push.request.add_sparse_gradients();
      }
    }
  }

  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                    SparseStep* sparse) override {
    tables->resize(table_sizes_.size());
    for (size_t i = 0; i < table_sizes_.size(); ++i) (*tables)[i].resize(table_sizes_[i]);
    for (Server& server : servers_) server.pull.request.set_clock(clock);
    PETREL_RETURN_IF_ERROR(RouteKeys(sparse));
    for (Server& server : servers_) {
      for (size_t j = 0; j < server.sparse.size(); ++j) {
        SetKeys(server, j, sparse, server.pull.request.mutable_sparse(j)->mutable_keys());
      }
    }
    PETREL_RETURN_IF_ERROR(CallAll(&Server::pull, "Pull"));
    if (sparse != nullptr) {
      sparse->rows.resize(sparse->keys.size());
      for (size_t t = 0; t < sparse->keys.size(); ++t) {
        sparse->rows[t].resize(sparse->keys[t].size() * sparse_dims_[t]);
      }
      for (Server& server : servers_) {
        const PullResponse& response = server.pull.response;
        if (response.sparse_rows_size() != static_cast<int>(server.sparse.size())) {
          return absl::InternalError(absl::StrCat("Pull from ", server.id, " returned ",
                                                  response.sparse_rows_size(), " sparse slices"));
        }
        for (size_t j = 0; j < server.sparse.size(); ++j) {
          const SparseRoute& route = server.sparse[j];
          const int dim = sparse_dims_[route.table];
          const float* rows = BytesAsFloats(response.sparse_rows(j)).data();
          if (response.sparse_rows(j).size() != route.positions.size() * dim * sizeof(float)) {
            return absl::InternalError(absl::StrCat("Pull from ", server.id, ": sparse slice ", j,
                                                    " has the wrong size"));
          }
          float* out = sparse->rows[route.table].data();
          for (size_t k = 0; k < route.positions.size(); ++k) {
            std::memcpy(out + route.positions[k] * dim, rows + k * dim, dim * sizeof(float));
          }
        }
      }
    }
    for (Server& server : servers_) {
      const PullResponse& response = server.pull.response;
      if (response.values_size() != static_cast<int>(server.placements.size())) {
        return absl::InternalError(absl::StrCat("Pull from ", server.id, " returned ",
                                                response.values_size(), " slices, asked for ",
                                                server.placements.size()));
      }
      for (size_t i = 0; i < server.placements.size(); ++i) {
        const Placement& p = server.placements[i];
        const std::string& bytes = response.values(i);
        if (static_cast<int64_t>(bytes.size()) != (p.end - p.begin) * 4) {
          return absl::InternalError(absl::StrCat("Pull from ", server.id, ": slice ", i,
                                                  " has ", bytes.size(), " bytes"));
        }
        std::memcpy((*tables)[p.table].data() + p.begin, bytes.data(), bytes.size());
      }
    }
    return absl::OkStatus();
  }

  absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                    const SparseStep* sparse) override {
    if (gradients.size() != table_sizes_.size()) {
      return absl::InvalidArgumentError(absl::StrCat("push of ", gradients.size(),
                                                     " gradients for ", table_sizes_.size(),
                                                     " tables"));
    }
    for (Server& server : servers_) {
      server.push.request.set_clock(clock);
      for (size_t i = 0; i < server.placements.size(); ++i) {
        const Placement& p = server.placements[i];
        server.push.request.mutable_gradients(i)->assign(
            reinterpret_cast<const char*>(gradients[p.table].data() + p.begin),
            (p.end - p.begin) * sizeof(float));
      }
    }
    PETREL_RETURN_IF_ERROR(RouteKeys(sparse));
    for (Server& server : servers_) {
      for (size_t j = 0; j < server.sparse.size(); ++j) {
        const SparseRoute& route = server.sparse[j];
        SetKeys(server, j, sparse, server.push.request.mutable_sparse(j)->mutable_keys());
        const int dim = sparse_dims_[route.table];
        std::string* bytes = server.push.request.mutable_sparse_gradients(j);
        bytes->resize(route.positions.size() * dim * sizeof(float));
        float* out = reinterpret_cast<float*>(bytes->data());
        const float* rows = sparse->rows[route.table].data();
        for (size_t k = 0; k < route.positions.size(); ++k) {
          std::memcpy(out + k * dim, rows + route.positions[k] * dim, dim * sizeof(float));
        }
      }
    }
    return CallAll(&Server::push, "Push");
  }

  absl::Status Leave(int64_t clock) override {
    for (Server& server : servers_) {
      PushRequest& request = server.push.request;
      request.clear_slices();
      request.clear_gradients();
      request.clear_sparse();
      request.clear_sparse_gradients();
      request.set_clock(clock);
      request.set_leave(true);
    }
    return CallAll(&Server::push, "Leave");
  }

 private:
  struct Placement {
    size_t table;
    int64_t begin, end;
  };
  // Sparse slice j of a server's requests: the keys of sparse table `table`
  // it holds this step, as positions in SparseStep::keys[table].
  struct SparseRoute {
    size_t table;
    std::vector<size_t> positions;
  };
  template <typename Request, typename Response>
  struct Call {
    Request request;
    Response response;
    grpc::Status status;
  };
  struct Server {
    std::string id, address;
    std::unique_ptr<Parameter::Stub> stub;
    std::vector<Placement> placements;  // slice i of both requests
    std::vector<SparseRoute> sparse;    // sparse slice j of both requests
    Call<PullRequest, PullResponse> pull;
    Call<PushRequest, PushResponse> push;
  };

  // Records the call's status and counts it done.
  template <typename Request, typename Response>
  static std::function<void(grpc::Status)> Completion(Call<Request, Response>& call,
                                                      absl::BlockingCounter* done) {
    return [&call, done](grpc::Status status) {
      call.status = std::move(status);
      done->DecrementCount();
    };
  }
  void Issue(Server& server, Call<PullRequest, PullResponse>& call, grpc::ClientContext* context,
             absl::BlockingCounter* done) {
    server.stub->async()->Pull(context, &call.request, &call.response, Completion(call, done));
  }
  void Issue(Server& server, Call<PushRequest, PushResponse>& call, grpc::ClientContext* context,
             absl::BlockingCounter* done) {
    server.stub->async()->Push(context, &call.request, &call.response, Completion(call, done));
  }

  // Calls every server at once and waits for all; retries the ones that
  // failed in a retryable way until options_.retry_timeout.
  template <typename Request, typename Response>
  absl::Status CallAll(Call<Request, Response> Server::*member, const char* name) {
    const absl::Time give_up = absl::Now() + options_.retry_timeout;
    std::vector<Server*> pending;
    for (Server& server : servers_) pending.push_back(&server);
    absl::Duration backoff = absl::Milliseconds(20);
    while (true) {
      std::vector<grpc::ClientContext> contexts(pending.size());
      absl::BlockingCounter done(pending.size());
      for (size_t i = 0; i < pending.size(); ++i) {
        contexts[i].set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
        Issue(*pending[i], pending[i]->*member, &contexts[i], &done);
      }
      done.Wait();
      std::vector<Server*> retry;
      for (Server* server : pending) {
        const grpc::Status& status = (server->*member).status;
        if (status.ok()) continue;
        const bool retryable =
            status.error_code() == grpc::StatusCode::UNAVAILABLE ||
            (status.error_code() == grpc::StatusCode::NOT_FOUND && !warmed_up_);
        absl::Status error = FromGrpcStatus(
            status, absl::StrCat(name, " to ", server->id, " (", server->address, ")"));
        if (!retryable || absl::Now() >= give_up) return error;
        retry.push_back(server);
      }
      if (retry.empty()) break;
      pending = std::move(retry);
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
    warmed_up_ = true;
    return absl::OkStatus();
  }

  // The server for `id`, added (with its requests' fixed fields) on first use.
  Server& ServerFor(const ShardMap& map, const std::string& id, const std::string& address) {
    for (Server& server : servers_) {
      if (server.address == address) return server;
    }
    Server server;
    server.id = id;
    server.address = address;
    server.stub = Parameter::NewStub(MakeChannel(address));
    server.pull.request.set_job_id(map.job_id());
    server.pull.request.set_worker_id(options_.worker_id);
    server.pull.request.set_shard_map_epoch(map.epoch());
    server.pull.request.set_observer(options_.observer);
    server.push.request.set_job_id(map.job_id());
    server.push.request.set_worker_id(options_.worker_id);
    server.push.request.set_shard_map_epoch(map.epoch());
    servers_.push_back(std::move(server));
    return servers_.back();
  }

  // Sends each key of `sparse` to the server of its shard.
  absl::Status RouteKeys(const SparseStep* sparse) {
    for (Server& server : servers_) {
      for (SparseRoute& route : server.sparse) route.positions.clear();
    }
    if (sparse == nullptr) return absl::OkStatus();
    if (sparse->keys.size() != sparse_dims_.size()) {
      return absl::InvalidArgumentError(absl::StrCat("keys for ", sparse->keys.size(),
                                                     " sparse tables; the job has ",
                                                     sparse_dims_.size()));
    }
    for (size_t t = 0; t < sparse->keys.size(); ++t) {
      const auto& shards = sparse_shards_[t];
      for (size_t i = 0; i < sparse->keys[t].size(); ++i) {
        const auto [server, slot] = shards[SparseShardOf(sparse->keys[t][i], shards.size())];
        servers_[server].sparse[slot].positions.push_back(i);
      }
    }
    return absl::OkStatus();
  }

  // The keys of `server`'s sparse slice j this step, as request bytes.
  static void SetKeys(const Server& server, size_t j, const SparseStep* sparse,
                      std::string* bytes) {
    const SparseRoute& route = server.sparse[j];
    bytes->resize(route.positions.size() * sizeof(uint64_t));
    uint64_t* out = reinterpret_cast<uint64_t*>(bytes->data());
    for (size_t k = 0; k < route.positions.size(); ++k) {
      out[k] = sparse->keys[route.table][route.positions[k]];
    }
  }

  const PsClientOptions options_;
  std::map<std::string, size_t> table_index_;
  std::vector<int64_t> table_sizes_;
  std::vector<Server> servers_;  // reserved: Server& and pointers stay valid
  std::vector<int> sparse_dims_;   // per sparse table
  // Per sparse table, per shard index: (server index, sparse slot there).
  std::vector<std::vector<std::pair<size_t, size_t>>> sparse_shards_;
  bool warmed_up_ = false;
};

}  // namespace

std::unique_ptr<PsClient> NewGrpcPsClient(const ShardMap& shard_map, PsClientOptions options) {
  return std::make_unique<GrpcPsClient>(shard_map, std::move(options));
}

}  // namespace petrel::worker

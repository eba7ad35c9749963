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
    for (const DenseTable& table : map.tables()) {
      table_index_[table.name()] = table_sizes_.size();
      table_sizes_.push_back(TableSize(table));
    }
    std::map<std::string, size_t> server_index;
    for (const ShardRange& range : map.ranges()) {
      auto [it, added] = server_index.emplace(range.server_address(), servers_.size());
      if (added) {
        Server server;
        server.id = range.server_id();
        server.address = range.server_address();
        server.stub = Parameter::NewStub(MakeChannel(range.server_address()));
        server.pull.request.set_job_id(map.job_id());
        server.pull.request.set_worker_id(options_.worker_id);
        server.pull.request.set_shard_map_epoch(map.epoch());
        server.pull.request.set_observer(options_.observer);
        server.push.request.set_job_id(map.job_id());
        server.push.request.set_worker_id(options_.worker_id);
        server.push.request.set_shard_map_epoch(map.epoch());
        servers_.push_back(std::move(server));
      }
      Server& server = servers_[it->second];
      Slice* slice = server.pull.request.add_slices();
      slice->set_table(range.table());
      slice->set_begin(range.begin());
      slice->set_end(range.end());
      *server.push.request.add_slices() = *slice;
      server.push.request.add_gradients();
      server.placements.push_back({table_index_.at(range.table()), range.begin(), range.end()});
    }
  }

  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables) override {
    tables->resize(table_sizes_.size());
    for (size_t i = 0; i < table_sizes_.size(); ++i) (*tables)[i].resize(table_sizes_[i]);
    for (Server& server : servers_) server.pull.request.set_clock(clock);
    PETREL_RETURN_IF_ERROR(CallAll(&Server::pull, "Pull"));
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

  absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients) override {
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
    return CallAll(&Server::push, "Push");
  }

  absl::Status Leave(int64_t clock) override {
    for (Server& server : servers_) {
      PushRequest& request = server.push.request;
      request.clear_slices();
      request.clear_gradients();
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

  const PsClientOptions options_;
  std::map<std::string, size_t> table_index_;
  std::vector<int64_t> table_sizes_;
  std::vector<Server> servers_;
  bool warmed_up_ = false;
};

}  // namespace

std::unique_ptr<PsClient> NewGrpcPsClient(const ShardMap& shard_map, PsClientOptions options) {
  return std::make_unique<GrpcPsClient>(shard_map, std::move(options));
}

}  // namespace petrel::worker

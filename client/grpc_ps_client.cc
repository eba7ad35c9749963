// PsClient over gRPC. Each server's slices are packed into chunks of at most
// options.chunk_bytes (small tables share one, a large one is cut), one
// request per chunk; every server is called at once, with up to
// options.chunks_in_flight chunks outstanding per server, so the server
// applies one chunk while the next is on the wire. A push of several chunks
// carries part/parts, and the server counts the clock once all are in.
// A push-pull (PushPull) asks every part for the next clock's values of its
// own slices; the server holds each answer until the last part is in, so
// those parts are all sent at once.
// Pushes and pulls go through gRPC's generic stub in protobuf's wire format
// (common/parameter_wire.h), so gradients leave and values arrive without extra copies.
// Requests are built once and reused, so a step allocates nothing once the
// buffers have grown.
#include <cstring>
#include <deque>
#include <limits>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/wire/float_bytes.h"
#include "common/wire/gradient_codec.h"
#include "common/rpc/grpc_status.h"
#include "common/jobspec/model_tables.h"
#include "common/jobspec/partition.h"
#include "common/rpc/rpc.h"
#include "common/status_macros.h"
#include "grpcpp/generic/generic_stub.h"
#include "proto/parameter.grpc.pb.h"
#include "spdlog/spdlog.h"
#include "client/ps_client.h"
#include "common/wire/parameter_wire.h"

namespace petrel::worker {
namespace {

// A push-pull keeps every part of a server's push in flight at once (their
// answers wait for the last part); past this many parts per server (at 4
// MiB chunks, 128 MiB) the push and the pull are made separately instead.
constexpr size_t kMaxPushPullParts = 32;

class GrpcPsClient : public PsClient {
 public:
  GrpcPsClient(const ShardMap& map, PsClientOptions options)
      : options_(std::move(options)), map_(&map) {
    const int64_t chunk_floats =
        std::max<int64_t>(1, options_.chunk_bytes / static_cast<int64_t>(sizeof(float)));
    // Chunks point at their server by index and hold their own requests.
    servers_.reserve(map.ranges_size() + map.sparse_shards_size());
    for (const DenseTable& table : map.tables()) {
      table_index_[table.name()] = table_sizes_.size();
      table_sizes_.push_back(TableSize(table));
    }
    for (const ShardRange& range : map.ranges()) {
      const size_t s = ServerFor(range.group(), range.server_id(), range.server_address());
      // Cut the range into pieces no bigger than a chunk, packed in order.
      for (int64_t begin = range.begin(); begin < range.end();) {
        Chunk& chunk = OpenChunk(s, chunk_floats);
        const int64_t room = chunk_floats - chunk.floats;
        const int64_t end = std::min(range.end(), begin + room);
        AddPlacement(chunk, {table_index_.at(range.table()), begin, end}, range.table());
        begin = end;
      }
    }
    for (int t = 0; t < map.sparse_tables_size(); ++t) {
      sparse_dims_.push_back(map.sparse_tables(t).dim());
      sparse_shards_.emplace_back();
      for (const SparseShard& shard : map.sparse_shards()) {
        if (shard.table() != map.sparse_tables(t).name()) continue;
        const size_t s = ServerFor(shard.group(), shard.server_id(), shard.server_address());
        Server& server = servers_[s];
        sparse_shards_[t].resize(shard.count());
        sparse_shards_[t][shard.index()] = {s, server.sparse.size()};
        server.sparse.push_back({static_cast<size_t>(t), {}});
        // Sparse slices ride in the server's first chunk.
        Chunk& chunk = FirstChunk(s);
        chunk.pull.request.add_sparse()->set_table(shard.table());
        chunk.push.request.add_sparse()->set_table(shard.table());
        chunk.push.request.add_sparse_gradients();
      }
    }
    for (Server& server : servers_) {
      const int parts = static_cast<int>(server.chunks.size());
      max_parts_ = std::max(max_parts_, server.chunks.size());
      for (int i = 0; i < parts && parts > 1; ++i) {
        chunks_[server.chunks[i]].push.request.set_part(i);
        chunks_[server.chunks[i]].push.request.set_parts(parts);
      }
    }
    map_ = nullptr;
  }

  absl::Status Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                    SparseStep* sparse) override {
    ResizeTables(tables);
    for (Chunk& chunk : chunks_) chunk.pull.request.set_clock(clock);
    PETREL_RETURN_IF_ERROR(RouteKeys(sparse));
    for (size_t s = 0; s < servers_.size(); ++s) {
      const Server& server = servers_[s];
      for (size_t j = 0; j < server.sparse.size(); ++j) {
        SetKeys(server, j, sparse,
                chunks_[server.chunks.front()].pull.request.mutable_sparse(j)->mutable_keys());
      }
    }
    PETREL_RETURN_IF_ERROR(CallAll(/*push=*/false, "Pull"));
    PETREL_RETURN_IF_ERROR(DecodeValues(/*push=*/false, tables));
    return DecodeSparse(sparse);
  }

  absl::Status Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                    const SparseStep* sparse) override {
    PETREL_RETURN_IF_ERROR(PreparePush(clock, gradients, sparse));
    return CallAll(/*push=*/true, "Push");
  }

  absl::Status PushPull(int64_t clock, const std::vector<std::vector<float>>& gradients,
                        std::vector<std::vector<float>>* next) override {
    // Sparse tables need their rows pulled anyway (and their gradients pushed).
    if (!sparse_dims_.empty() || max_parts_ > kMaxPushPullParts) {
      return PsClient::PushPull(clock, gradients, next);
    }
    PETREL_RETURN_IF_ERROR(PreparePush(clock, gradients, nullptr));
    for (Chunk& chunk : chunks_) chunk.push.request.set_pull_next(true);
    absl::Status status = CallAll(/*push=*/true, "Push-pull", /*all_at_once=*/true);
    // Push and Leave reuse the requests.
    for (Chunk& chunk : chunks_) chunk.push.request.clear_pull_next();
    PETREL_RETURN_IF_ERROR(status);
    ResizeTables(next);
    return DecodeValues(/*push=*/true, next);
  }

  absl::Status PushRoundUpdate(int64_t round, const std::vector<std::vector<uint64_t>>& update,
                               uint64_t weight) override {
    PETREL_RETURN_IF_ERROR(CheckSizes(update, "upload"));
    const std::string weight_bytes(reinterpret_cast<const char*>(&weight), sizeof(weight));
    for (Chunk& chunk : chunks_) {
      PushRequest& request = chunk.push.request;
      request.set_clock(round);
      request.set_encoding(FIXED64);
      request.set_weight(weight_bytes);
      chunk.push_gradients.clear();
      for (const Placement& p : chunk.placements) {
        chunk.push_gradients.push_back(
            absl::string_view(reinterpret_cast<const char*>(update[p.table].data() + p.begin),
                              (p.end - p.begin) * sizeof(uint64_t)));
      }
    }
    absl::Status status = CallAll(/*push=*/true, "Upload");
    // Push sets its own encoding; the weight belongs to uploads only.
    for (Chunk& chunk : chunks_) chunk.push.request.clear_weight();
    return status;
  }

  absl::Status Leave(int64_t clock) override {
    // One whole, empty request per server.
    for (Server& server : servers_) {
      PushRequest& request = chunks_[server.chunks.front()].push.request;
      request.clear_slices();
      request.clear_gradients();
      request.clear_sparse();
      request.clear_sparse_gradients();
      request.clear_part();
      request.clear_parts();
      request.set_clock(clock);
      request.set_leave(true);
      chunks_[server.chunks.front()].push_gradients.clear();
      server.chunks.resize(1);
    }
    return CallAll(/*push=*/true, "Leave");
  }

 private:
  void ResizeTables(std::vector<std::vector<float>>* tables) const {
    tables->resize(table_sizes_.size());
    for (size_t i = 0; i < table_sizes_.size(); ++i) (*tables)[i].resize(table_sizes_[i]);
  }

  // Copies each chunk's values from gRPC's buffers straight into `tables`:
  // the answers of the last pull, or of the last push-pull. A pull's sparse
  // rows are kept in the chunks for DecodeSparse.
  absl::Status DecodeValues(bool push, std::vector<std::vector<float>>* tables) {
    const char* what = push ? "Push-pull" : "Pull";
    for (Chunk& chunk : chunks_) {
      const std::string& id = servers_[chunk.server].id;
      int values = 0;
      chunk.sparse_rows.clear();
      absl::Status decoded = DecodePullResponse(
          push ? chunk.push_reply : chunk.pull_reply,
          [&](int i, int64_t size) -> char* {
            values = i + 1;
            if (i >= static_cast<int>(chunk.placements.size())) return nullptr;
            const Placement& p = chunk.placements[i];
            if (size != (p.end - p.begin) * static_cast<int64_t>(sizeof(float))) return nullptr;
            return reinterpret_cast<char*>((*tables)[p.table].data() + p.begin);
          },
          &chunk.sparse_rows);
      if (!decoded.ok()) {
        return absl::InternalError(absl::StrCat(what, " from ", id, ": ", decoded.message()));
      }
      if (values != static_cast<int>(chunk.placements.size())) {
        return absl::InternalError(absl::StrCat(what, " from ", id, " returned ", values,
                                                " slices, asked for ", chunk.placements.size()));
      }
    }
    return absl::OkStatus();
  }

  // The last pull's sparse rows into `sparse`, in its keys' order.
  absl::Status DecodeSparse(SparseStep* sparse) {
    if (sparse != nullptr) {
      sparse->rows.resize(sparse->keys.size());
      for (size_t t = 0; t < sparse->keys.size(); ++t) {
        sparse->rows[t].resize(sparse->keys[t].size() * sparse_dims_[t]);
      }
      for (const Server& server : servers_) {
        const std::vector<std::string>& rows_by_slice = chunks_[server.chunks.front()].sparse_rows;
        if (rows_by_slice.size() != server.sparse.size()) {
          return absl::InternalError(absl::StrCat("Pull from ", server.id, " returned ",
                                                  rows_by_slice.size(), " sparse slices"));
        }
        for (size_t j = 0; j < server.sparse.size(); ++j) {
          const SparseRoute& route = server.sparse[j];
          const int dim = sparse_dims_[route.table];
          const size_t count = route.Count(*sparse);
          if (rows_by_slice[j].size() != count * dim * sizeof(float)) {
            return absl::InternalError(absl::StrCat("Pull from ", server.id, ": sparse slice ", j,
                                                    " has the wrong size"));
          }
          if (count == 0) continue;
          route.Scatter(BytesAsFloats(rows_by_slice[j]).data(), dim, count,
                        sparse->rows[route.table].data());
        }
      }
    }
    return absl::OkStatus();
  }

  // Fills the push requests of every chunk for `clock`.
  absl::Status PreparePush(int64_t clock, const std::vector<std::vector<float>>& gradients,
                           const SparseStep* sparse) {
    // Before anything is encoded: top-k keeps residuals per placement.
    PETREL_RETURN_IF_ERROR(CheckSizes(gradients, "gradient"));
    for (Chunk& chunk : chunks_) {
      chunk.push.request.set_clock(clock);
      chunk.push.request.set_encoding(encoding_);
      chunk.push_gradients.clear();
      for (size_t i = 0; i < chunk.placements.size(); ++i) {
        const Placement& p = chunk.placements[i];
        chunk.push_gradients.push_back(
            Encode(chunk, i, absl::MakeConstSpan(gradients[p.table]).subspan(p.begin, p.end - p.begin)));
      }
    }
    PETREL_RETURN_IF_ERROR(RouteKeys(sparse));
    PETREL_RETURN_IF_ERROR(CheckSparseRows(sparse));
    for (const Server& server : servers_) {
      PushRequest& request = chunks_[server.chunks.front()].push.request;
      for (size_t j = 0; j < server.sparse.size(); ++j) {
        const SparseRoute& route = server.sparse[j];
        SetKeys(server, j, sparse, request.mutable_sparse(j)->mutable_keys());
        const int dim = sparse_dims_[route.table];
        std::string* bytes = request.mutable_sparse_gradients(j);
        const size_t count = sparse == nullptr ? 0 : route.Count(*sparse);
        bytes->resize(count * dim * sizeof(float));
        if (count == 0) continue;
        route.Gather(sparse->rows[route.table].data(), dim, count,
                     reinterpret_cast<float*>(bytes->data()));
      }
    }
    return absl::OkStatus();
  }

  // One tensor per table of the shard map, each of its table's size.
  template <typename T>
  absl::Status CheckSizes(const std::vector<std::vector<T>>& tensors, const char* what) const {
    if (tensors.size() != table_sizes_.size()) {
      return absl::InvalidArgumentError(absl::StrCat(what, "s for ", tensors.size(),
                                                     " tables; the job has ", table_sizes_.size()));
    }
    for (size_t t = 0; t < tensors.size(); ++t) {
      if (static_cast<int64_t>(tensors[t].size()) != table_sizes_[t]) {
        return absl::InvalidArgumentError(absl::StrCat(what, " ", t, " has ", tensors[t].size(),
                                                       " elements; the table has ",
                                                       table_sizes_[t]));
      }
    }
    return absl::OkStatus();
  }

  struct Placement {
    size_t table;
    int64_t begin, end;
  };
  // Sparse slice j of a server's requests: the keys of sparse table `table`
  // it holds this step, as positions in SparseStep::keys[table].
  // A table of one shard sends all its keys to one server, in order: then
  // `all` is set and positions stay empty, so the keys and rows go over in
  // one copy each, not one per key.
  struct SparseRoute {
    size_t table;
    std::vector<size_t> positions;
    bool all = false;
    size_t Count(const SparseStep& step) const {
      return all ? step.keys[table].size() : positions.size();
    }
    // Rows of `width` values: row positions[k] of `from` (row k when `all`)
    // to row k of `to`, and back with Scatter.
    template <typename T>
    void Gather(const T* from, int width, size_t count, T* to) const {
      if (all) {
        std::memcpy(to, from, count * width * sizeof(T));
      } else if (width == 1) {
        for (size_t k = 0; k < count; ++k) to[k] = from[positions[k]];
      } else {
        for (size_t k = 0; k < count; ++k) {
          std::memcpy(to + k * width, from + positions[k] * width, width * sizeof(T));
        }
      }
    }
    template <typename T>
    void Scatter(const T* from, int width, size_t count, T* to) const {
      if (all) {
        std::memcpy(to, from, count * width * sizeof(T));
      } else if (width == 1) {
        for (size_t k = 0; k < count; ++k) to[positions[k]] = from[k];
      } else {
        for (size_t k = 0; k < count; ++k) {
          std::memcpy(to + positions[k] * width, from + k * width, width * sizeof(T));
        }
      }
    }
  };
  // A request's fixed fields and its last call's outcome; the answer
  // arrives in the chunk's wire buffer.
  template <typename Request>
  struct Call {
    Request request;
    grpc::Status status;
  };
  // One request's worth of a server's slices. The typed requests hold the
  // fields other than the tensors; the tensors travel in the wire buffers.
  struct Chunk {
    size_t server;
    std::vector<Placement> placements;  // slice i of both requests
    int64_t floats = 0;
    Call<PullRequest> pull;
    Call<PushRequest> push;
    grpc::ByteBuffer pull_wire, pull_reply, push_wire, push_reply;
    std::vector<absl::string_view> push_gradients;  // this step's payloads, by placement
    std::vector<std::string> encoded;                // compressed payloads, by placement
    std::vector<std::vector<float>> residuals;       // top-k error feedback, by placement
    std::vector<std::string> sparse_rows;                 // the last pull's
  };
  // One shard group, reached through its primary.
  struct Server {
    int group = 0;
    std::string id, address;
    std::unique_ptr<grpc::GenericStub> stub;
    std::vector<size_t> chunks;        // indices into chunks_, in part order
    std::vector<SparseRoute> sparse;   // sparse slice j of its first chunk's requests
  };

  void Issue(Chunk& chunk, bool push, grpc::ClientContext* context,
             std::function<void(grpc::Status)> done) {
    grpc::GenericStub& stub = *servers_[chunk.server].stub;
    if (push) {
      chunk.push_wire = EncodePush(chunk.push.request, chunk.push_gradients, &aliases_);
      stub.UnaryCall(context, "/petrel.Parameter/Push", grpc::StubOptions(), &chunk.push_wire,
                     &chunk.push_reply, std::move(done));
    } else {
      const std::string bytes = chunk.pull.request.SerializeAsString();
      grpc::Slice slice(bytes.data(), bytes.size());
      chunk.pull_wire = grpc::ByteBuffer(&slice, 1);
      stub.UnaryCall(context, "/petrel.Parameter/Pull", grpc::StubOptions(), &chunk.pull_wire,
                     &chunk.pull_reply, std::move(done));
    }
  }

  // The payload of placement i of `chunk`: the floats themselves, or their
  // encoding in the chunk's buffers.
  absl::string_view Encode(Chunk& chunk, size_t i, absl::Span<const float> gradient) {
    if (encoding_ == FLOAT32) {
      return absl::string_view(reinterpret_cast<const char*>(gradient.data()),
                               gradient.size() * sizeof(float));
    }
    chunk.encoded.resize(chunk.placements.size());
    std::string& out = chunk.encoded[i];
    if (encoding_ == TOPK) {
      chunk.residuals.resize(chunk.placements.size());
      chunk.residuals[i].resize(gradient.size(), 0.0f);
      EncodeTopK(gradient, options_.compression.topk_ratio(), absl::MakeSpan(chunk.residuals[i]),
                 &out);
    } else {
      EncodeHalves(encoding_, gradient, &out);
    }
    return out;
  }

  // Calls every chunk of every server, at most options_.chunks_in_flight per
  // server at a time (all at once if asked), and waits for all; retries the
  // ones that failed in a retryable way until options_.retry_timeout.
  absl::Status CallAll(bool push, const char* name, bool all_at_once = false) {
    absl::Status status = CallAllOnce(push, name, all_at_once);
    // The requests alias the caller's gradients: let go of them, and after a
    // failure wait until gRPC has too, so the caller may free them.
    for (Chunk& chunk : chunks_) chunk.push_wire.Clear();
    if (!status.ok()) aliases_.Drain();
    return status;
  }
  absl::Status CallAllOnce(bool push, const char* name, bool all_at_once) {
    const absl::Time give_up = absl::Now() + options_.retry_timeout;
    const size_t window = all_at_once ? std::numeric_limits<size_t>::max()
                                      : static_cast<size_t>(std::max(1, options_.chunks_in_flight));
    // Per server, the chunks still to call, in part order.
    std::vector<std::deque<size_t>> queues(servers_.size());
    for (size_t s = 0; s < servers_.size(); ++s) {
      queues[s].assign(servers_[s].chunks.begin(), servers_[s].chunks.end());
    }
    absl::Duration backoff = absl::Milliseconds(20);
    while (true) {
      absl::Mutex mu;
      std::vector<size_t> finished;  // chunks whose call ended, guarded by mu
      std::deque<grpc::ClientContext> contexts;
      std::vector<size_t> in_flight(servers_.size(), 0);
      size_t outstanding = 0;
      auto issue_next = [&](size_t s) {
        while (in_flight[s] < window && !queues[s].empty()) {
          const size_t c = queues[s].front();
          queues[s].pop_front();
          contexts.emplace_back();
          contexts.back().set_deadline(absl::ToChronoTime(absl::Now() + options_.call_timeout));
          ++in_flight[s];
          ++outstanding;
          grpc::Status& call_status = push ? chunks_[c].push.status : chunks_[c].pull.status;
          Issue(chunks_[c], push, &contexts.back(),
                [&mu, &finished, &call_status, c](grpc::Status status) {
                  call_status = std::move(status);
                  absl::MutexLock lock(&mu);
                  finished.push_back(c);
                });
        }
      };
      for (size_t s = 0; s < servers_.size(); ++s) issue_next(s);
      std::vector<size_t> retry;
      absl::Status error;
      while (outstanding > 0) {
        std::vector<size_t> done;
        {
          absl::MutexLock lock(&mu);
          mu.Await(absl::Condition(
              +[](std::vector<size_t>* f) { return !f->empty(); }, &finished));
          done.swap(finished);
        }
        for (size_t c : done) {
          --outstanding;
          const size_t s = chunks_[c].server;
          --in_flight[s];
          const grpc::Status& status = push ? chunks_[c].push.status : chunks_[c].pull.status;
          if (!status.ok()) {
            const bool retryable =
                status.error_code() == grpc::StatusCode::UNAVAILABLE ||
                (status.error_code() == grpc::StatusCode::NOT_FOUND && !warmed_up_);
            absl::Status failed = FromGrpcStatus(
                status, absl::StrCat(name, " to ", servers_[s].id, " (", servers_[s].address, ")"));
            if (!retryable || absl::Now() >= give_up) {
              if (error.ok()) error = failed;
            } else {
              retry.push_back(c);
            }
          }
          if (error.ok()) issue_next(s);
        }
      }
      // Every call has ended (the contexts may go); report the first failure.
      if (!error.ok()) return error;
      if (retry.empty()) break;
      for (size_t c : retry) queues[chunks_[c].server].push_back(c);
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(1));
    }
    warmed_up_ = true;
    return absl::OkStatus();
  }

  // The index of `group`'s entry, added on first use. A server heading
  // several groups gets a request per group, and shares one channel.
  size_t ServerFor(int group, const std::string& id, const std::string& address) {
    for (size_t s = 0; s < servers_.size(); ++s) {
      if (servers_[s].group == group) return s;
    }
    Server server;
    server.group = group;
    server.id = id;
    server.address = address;
    std::shared_ptr<grpc::Channel>& channel = channels_[address];
    if (channel == nullptr) {
      ChannelFactory& channels =
          options_.channels != nullptr ? *options_.channels : plaintext_channels_;
      channel = channels.Channel(address);
    }
    server.stub = std::make_unique<grpc::GenericStub>(channel);
    servers_.push_back(std::move(server));
    return servers_.size() - 1;
  }

  // A new chunk for server s, with its requests' fixed fields.
  Chunk& NewChunk(size_t s, const ShardMap& map) {
    chunks_.emplace_back();
    Chunk& chunk = chunks_.back();
    chunk.server = s;
    for (auto* request : {chunk.pull.request.mutable_job_id(), chunk.push.request.mutable_job_id()}) {
      *request = map.job_id();
    }
    chunk.pull.request.set_worker_id(options_.worker_id);
    chunk.pull.request.set_shard_map_epoch(map.epoch());
    chunk.pull.request.set_shard_group(servers_[s].group);
    chunk.push.request.set_shard_group(servers_[s].group);
    chunk.pull.request.set_observer(options_.observer);
    chunk.push.request.set_worker_id(options_.worker_id);
    chunk.push.request.set_shard_map_epoch(map.epoch());
    servers_[s].chunks.push_back(chunks_.size() - 1);
    return chunk;
  }
  // Server s's last chunk if it has room, else a new one.
  Chunk& OpenChunk(size_t s, int64_t chunk_floats) {
    const std::vector<size_t>& chunks = servers_[s].chunks;
    if (!chunks.empty() && chunks_[chunks.back()].floats < chunk_floats) {
      return chunks_[chunks.back()];
    }
    return NewChunk(s, *map_);
  }
  Chunk& FirstChunk(size_t s) {
    if (servers_[s].chunks.empty()) return NewChunk(s, *map_);
    return chunks_[servers_[s].chunks.front()];
  }
  static void AddPlacement(Chunk& chunk, const Placement& placement, const std::string& table) {
    Slice* slice = chunk.pull.request.add_slices();
    slice->set_table(table);
    slice->set_begin(placement.begin);
    slice->set_end(placement.end);
    *chunk.push.request.add_slices() = *slice;
    chunk.placements.push_back(placement);
    chunk.floats += placement.end - placement.begin;
  }

  // Sends each key of `sparse` to the server of its shard.
  absl::Status RouteKeys(const SparseStep* sparse) {
    for (Server& server : servers_) {
      for (SparseRoute& route : server.sparse) {
        route.positions.clear();
        route.all = false;
      }
    }
    if (sparse == nullptr) return absl::OkStatus();
    if (sparse->keys.size() != sparse_dims_.size()) {
      return absl::InvalidArgumentError(absl::StrCat("keys for ", sparse->keys.size(),
                                                     " sparse tables; the job has ",
                                                     sparse_dims_.size()));
    }
    for (size_t t = 0; t < sparse->keys.size(); ++t) {
      const auto& shards = sparse_shards_[t];
      if (shards.size() == 1) {
        servers_[shards[0].first].sparse[shards[0].second].all = true;
        continue;
      }
      for (size_t i = 0; i < sparse->keys[t].size(); ++i) {
        const auto [server, slot] = shards[SparseShardOf(sparse->keys[t][i], shards.size())];
        servers_[server].sparse[slot].positions.push_back(i);
      }
    }
    return absl::OkStatus();
  }

  // A push's gradient rows: keys[t].size() x dim floats for each table t.
  absl::Status CheckSparseRows(const SparseStep* sparse) const {
    if (sparse == nullptr) return absl::OkStatus();
    if (sparse->rows.size() != sparse->keys.size()) {
      return absl::InvalidArgumentError(absl::StrCat("sparse gradients for ", sparse->rows.size(),
                                                     " tables; keys for ", sparse->keys.size()));
    }
    for (size_t t = 0; t < sparse->keys.size(); ++t) {
      const size_t want = sparse->keys[t].size() * sparse_dims_[t];
      if (sparse->rows[t].size() != want) {
        return absl::InvalidArgumentError(absl::StrCat(
            "sparse gradients of table ", t, " have ", sparse->rows[t].size(), " floats; ",
            sparse->keys[t].size(), " keys of dim ", sparse_dims_[t], " need ", want));
      }
    }
    return absl::OkStatus();
  }

  // The keys of `server`'s sparse slice j this step, as request bytes.
  static void SetKeys(const Server& server, size_t j, const SparseStep* sparse,
                      std::string* bytes) {
    const SparseRoute& route = server.sparse[j];
    const size_t count = sparse == nullptr ? 0 : route.Count(*sparse);
    bytes->resize(count * sizeof(uint64_t));
    if (count == 0) return;
    route.Gather(sparse->keys[route.table].data(), 1, count,
                 reinterpret_cast<uint64_t*>(bytes->data()));
  }

  const PsClientOptions options_;
  // Where channels come from when options_.channels is null.
  SecuredChannelFactory plaintext_channels_;
  const GradientEncoding encoding_ = EncodingFor(options_.compression);
  const ShardMap* map_;  // during construction only
  std::map<std::string, size_t> table_index_;
  std::vector<int64_t> table_sizes_;
  std::vector<Server> servers_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // by address
  std::deque<Chunk> chunks_;  // a deque: requests in flight must never move
  std::vector<int> sparse_dims_;   // per sparse table
  // Per sparse table, per shard index: (server index, sparse slot there).
  std::vector<std::vector<std::pair<size_t, size_t>>> sparse_shards_;
  size_t max_parts_ = 0;  // the most chunks any server's requests are cut into
  bool warmed_up_ = false;
  // Declared last, destroyed first: waits until gRPC holds no gradient slice.
  AliasedSlices aliases_;
};

}  // namespace

std::unique_ptr<PsClient> NewGrpcPsClient(const ShardMap& shard_map, PsClientOptions options) {
  return std::make_unique<GrpcPsClient>(shard_map, std::move(options));
}

}  // namespace petrel::worker

#include "client/fake_ps_client.h"

#include "absl/strings/str_cat.h"

namespace petrel::worker {

FakePsClient::FakePsClient(std::vector<std::vector<float>> tables, float learning_rate,
                           std::vector<int> sparse_dims)
    : learning_rate_(learning_rate),
      sparse_dims_(std::move(sparse_dims)),
      tables_(std::move(tables)),
      sparse_rows_(sparse_dims_.size()) {}

void FakePsClient::FailNextCalls(int n, absl::Status status, int after) {
  absl::MutexLock lock(&mu_);
  successes_before_failures_ = after;
  failures_left_ = n;
  failure_ = std::move(status);
}

std::vector<FakePsClient::Call> FakePsClient::calls() const {
  absl::MutexLock lock(&mu_);
  return calls_;
}

std::vector<int64_t> FakePsClient::Clocks(Kind kind) const {
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> clocks;
  for (const Call& call : calls_) {
    if (call.kind == kind && call.ok) clocks.push_back(call.clock);
  }
  return clocks;
}

std::vector<std::vector<float>> FakePsClient::tables() const {
  absl::MutexLock lock(&mu_);
  return tables_;
}

std::vector<float> FakePsClient::SparseRow(int table, uint64_t key) const {
  absl::MutexLock lock(&mu_);
  auto it = sparse_rows_.at(table).find(key);
  return it != sparse_rows_[table].end() ? it->second : std::vector<float>(sparse_dims_[table]);
}

std::vector<std::vector<uint64_t>> FakePsClient::last_round_update() const {
  absl::MutexLock lock(&mu_);
  return round_update_;
}

uint64_t FakePsClient::last_round_weight() const {
  absl::MutexLock lock(&mu_);
  return round_weight_;
}

absl::Status FakePsClient::Begin(Kind kind, int64_t clock) {
  calls_.push_back({kind, clock, true});
  if (failures_left_ == 0) return absl::OkStatus();
  if (successes_before_failures_ > 0) {
    --successes_before_failures_;
    return absl::OkStatus();
  }
  --failures_left_;
  return failure_;
}

absl::Status FakePsClient::End(absl::Status status) {
  if (!status.ok()) calls_.back().ok = false;
  return status;
}

absl::Status FakePsClient::CheckSparse(const SparseStep* sparse, bool push) const {
  if (sparse == nullptr) return absl::OkStatus();
  if (sparse->keys.size() != sparse_dims_.size()) {
    return absl::InvalidArgumentError(absl::StrCat("keys for ", sparse->keys.size(),
                                                   " sparse tables; the job has ",
                                                   sparse_dims_.size()));
  }
  for (size_t t = 0; t < sparse_dims_.size() && push; ++t) {
    if (sparse->rows.size() != sparse_dims_.size() ||
        sparse->rows[t].size() != sparse->keys[t].size() * sparse_dims_[t]) {
      return absl::InvalidArgumentError(
          absl::StrCat("the gradient rows of sparse table ", t, " do not match its keys"));
    }
  }
  return absl::OkStatus();
}

absl::Status FakePsClient::Pull(int64_t clock, std::vector<std::vector<float>>* tables,
                                SparseStep* sparse) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = Begin(Kind::kPull, clock); !failed.ok()) return End(failed);
  if (absl::Status bad = CheckSparse(sparse, /*push=*/false); !bad.ok()) return End(bad);
  *tables = tables_;
  if (sparse == nullptr) return absl::OkStatus();
  sparse->rows.resize(sparse_dims_.size());
  for (size_t t = 0; t < sparse_dims_.size(); ++t) {
    const size_t dim = sparse_dims_[t];
    sparse->rows[t].assign(sparse->keys[t].size() * dim, 0.0f);
    for (size_t i = 0; i < sparse->keys[t].size(); ++i) {
      auto it = sparse_rows_[t].find(sparse->keys[t][i]);
      if (it != sparse_rows_[t].end()) {
        std::copy(it->second.begin(), it->second.end(), sparse->rows[t].begin() + i * dim);
      }
    }
  }
  return absl::OkStatus();
}

absl::Status FakePsClient::Push(int64_t clock, const std::vector<std::vector<float>>& gradients,
                                const SparseStep* sparse) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = Begin(Kind::kPush, clock); !failed.ok()) return End(failed);
  if (left_) return End(absl::FailedPreconditionError("this worker has left the job's clock"));
  if (gradients.size() != tables_.size()) {
    return End(absl::InvalidArgumentError(
        absl::StrCat(gradients.size(), " gradients for ", tables_.size(), " tables")));
  }
  for (size_t t = 0; t < tables_.size(); ++t) {
    if (gradients[t].size() != tables_[t].size()) {
      return End(absl::InvalidArgumentError(absl::StrCat("table ", t, " has ", tables_[t].size(),
                                                         " values; its gradient ",
                                                         gradients[t].size())));
    }
  }
  if (absl::Status bad = CheckSparse(sparse, /*push=*/true); !bad.ok()) return End(bad);
  for (size_t t = 0; t < tables_.size(); ++t) {
    for (size_t i = 0; i < tables_[t].size(); ++i) {
      tables_[t][i] -= learning_rate_ * gradients[t][i];
    }
  }
  for (size_t t = 0; sparse != nullptr && t < sparse_dims_.size(); ++t) {
    const size_t dim = sparse_dims_[t];
    for (size_t i = 0; i < sparse->keys[t].size(); ++i) {
      std::vector<float>& row = sparse_rows_[t][sparse->keys[t][i]];
      row.resize(dim);
      for (size_t j = 0; j < dim; ++j) row[j] -= learning_rate_ * sparse->rows[t][i * dim + j];
    }
  }
  return absl::OkStatus();
}

absl::Status FakePsClient::Leave(int64_t clock) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = Begin(Kind::kLeave, clock); !failed.ok()) return End(failed);
  left_ = true;
  return absl::OkStatus();
}

absl::Status FakePsClient::PushRoundUpdate(int64_t round,
                                           const std::vector<std::vector<uint64_t>>& update,
                                           uint64_t weight) {
  absl::MutexLock lock(&mu_);
  if (absl::Status failed = Begin(Kind::kRoundUpdate, round); !failed.ok()) return End(failed);
  round_update_ = update;
  round_weight_ = weight;
  return absl::OkStatus();
}

}  // namespace petrel::worker

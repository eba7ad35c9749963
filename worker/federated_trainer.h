// One worker's part in a federated job (docs/federated.md): it polls the
// coordinator for rounds; when sampled it pulls the global model, trains
// federated.local_epochs passes over its own data with plain SGD, and
// uploads its delta (worker/round_upload.h); under secure aggregation it
// advertises an X25519 key and reveals the seeds it shares with workers
// that dropped out. Rank 0 evaluates the global model after every round and
// at the end, as the synchronous trainer does.
#ifndef PETREL_WORKER_FEDERATED_TRAINER_H_
#define PETREL_WORKER_FEDERATED_TRAINER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/federated/secure_agg.h"
#include "worker/data/dataset.h"
#include "worker/model/mlp.h"
#include "worker/progress_reporter.h"
#include "worker/trainer_context.h"

namespace petrel::worker {

class FederatedTrainer {
 public:
  explicit FederatedTrainer(TrainerContext context)
      : context_(std::move(context)), reporter_(&context_) {}

  // Takes part in rounds until the last one is applied, then reports the
  // end of training (rank 0: the final evaluation). Failures are reported
  // to the coordinator, which fails the job with them.
  absl::Status Run();

 private:
  struct LocalResult {
    double mean_loss = 0;
    int64_t examples = 0;  // visited, over all local epochs
  };

  absl::Status Train();
  absl::Status Load();
  // One poll of the coordinator: sends `request` (and clears its one-shot
  // parts once delivered); transient failures are retried.
  absl::StatusOr<RoundInfo> Poll(RoundRequest* request);
  // Pull, local epochs, upload: this worker's part of `round`.
  absl::Status TrainRound(const RoundInfo& round);
  absl::StatusOr<LocalResult> LocalEpochs(int64_t round, std::vector<std::vector<float>>* params);
  // The seeds this worker shares with each of the round's other participants
  // (secure aggregation), by worker id.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> PeerSeeds(
      const RoundInfo& round, bool dropped_only) const;
  absl::StatusOr<double> Evaluate();

  TrainerContext context_;
  ProgressReporter reporter_;
  data::Dataset train_, test_;
  std::unique_ptr<model::Mlp> mlp_;
  secagg::KeyPair keys_;
  std::vector<std::vector<float>> global_, gradients_;
  std::vector<float> batch_features_;
  std::vector<int32_t> batch_labels_;
};

}  // namespace petrel::worker

#endif  // PETREL_WORKER_FEDERATED_TRAINER_H_

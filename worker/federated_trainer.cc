#include "worker/federated_trainer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status_macros.h"
#include "spdlog/spdlog.h"
#include "worker/dense_step_model.h"
#include "worker/round_upload.h"

namespace petrel::worker {
namespace {

constexpr absl::Duration kPollInterval = absl::Milliseconds(25);

}  // namespace

absl::Status FederatedTrainer::Run() {
  absl::Status status = Train();
  reporter_.ReportFailure(status);
  return status;
}

absl::Status FederatedTrainer::Load() {
  const JobSpec& spec = context_.assignment.spec();
  PETREL_ASSIGN_OR_RETURN(DenseData data, LoadDenseData(context_.assignment));
  train_ = std::move(data.train);
  test_ = std::move(data.test);
  const int batch = spec.training().batch_size();
  if (train_.num_examples < batch) {
    return absl::InvalidArgumentError(absl::StrCat("training.batch_size ", batch,
                                                   " is larger than this worker's shard of ",
                                                   train_.num_examples, " examples"));
  }
  PETREL_ASSIGN_OR_RETURN(mlp_, model::Mlp::Create(spec.model(), context_.backend,
                                                   std::max(batch, kEvalChunk)));
  batch_features_.resize(static_cast<size_t>(batch) * train_.feature_dim);
  batch_labels_.resize(batch);
  if (spec.federated().secure_aggregation()) {
    PETREL_ASSIGN_OR_RETURN(keys_, secagg::GenerateKeyPair());
  }
  return absl::OkStatus();
}

absl::StatusOr<RoundInfo> FederatedTrainer::Poll(RoundRequest* request) {
  PETREL_ASSIGN_OR_RETURN(
      RoundInfo info,
      CallPatiently<RoundInfo>([&] { return context_.coordinator->FederatedRound(*request); },
                               context_.stop_requested));
  if (info.uploaded() && request->uploaded_round() == info.round()) request->set_uploaded_round(-1);
  if (info.revealed() && request->reveal_round() == info.round()) {
    request->set_reveal_round(-1);
    request->clear_reveals();
  }
  return info;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> FederatedTrainer::PeerSeeds(
    const RoundInfo& round, bool dropped_only) const {
  std::vector<std::pair<std::string, std::string>> seeds;
  for (const RoundParticipant& peer : round.participants()) {
    if (peer.worker_id() == context_.worker_id) continue;
    if (dropped_only && std::find(round.dropped().begin(), round.dropped().end(),
                                  peer.worker_id()) == round.dropped().end()) {
      continue;
    }
    PETREL_ASSIGN_OR_RETURN(std::string seed,
                            secagg::PairSeed(keys_.private_key, peer.public_key(),
                                             context_.assignment.job_id(), round.round()));
    seeds.emplace_back(peer.worker_id(), std::move(seed));
  }
  return seeds;
}

absl::StatusOr<FederatedTrainer::LocalResult> FederatedTrainer::LocalEpochs(
    int64_t round, std::vector<std::vector<float>>* params) {
  const JobSpec& spec = context_.assignment.spec();
  const int batch = spec.training().batch_size();
  const int epochs = spec.federated().local_epochs();
  const float rate = spec.federated().client_learning_rate();
  const int64_t steps = train_.num_examples / batch;
  LocalResult result;
  double loss_sum = 0;
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const std::vector<int64_t> order = data::ShuffledOrder(
        train_.num_examples, spec.training().seed(), round * epochs + epoch,
        context_.assignment.rank());
    for (int64_t step = 0; step < steps; ++step) {
      if (context_.stop_requested()) return absl::CancelledError("worker stopping");
      PETREL_RETURN_IF_ERROR(data::GatherBatch(
          train_, absl::MakeConstSpan(order).subspan(step * batch, batch),
          absl::MakeSpan(batch_features_), absl::MakeSpan(batch_labels_)));
      PETREL_RETURN_IF_ERROR(mlp_->SetParameters({params->begin(), params->end()}));
      PETREL_ASSIGN_OR_RETURN(model::StepResult step_result,
                              mlp_->ComputeGradients(batch_features_.data(), batch_labels_.data(),
                                                     batch, &gradients_));
      for (size_t t = 0; t < params->size(); ++t) {
        std::vector<float>& values = (*params)[t];
        const std::vector<float>& gradient = gradients_[t];
        for (size_t k = 0; k < values.size(); ++k) values[k] -= rate * gradient[k];
      }
      loss_sum += step_result.loss;
      result.examples += batch;
    }
  }
  result.mean_loss = steps * epochs > 0 ? loss_sum / (steps * epochs) : 0;
  return result;
}

absl::Status FederatedTrainer::TrainRound(const RoundInfo& round) {
  const JobSpec& spec = context_.assignment.spec();
  const absl::Time start = absl::Now();
  PETREL_RETURN_IF_ERROR(context_.ps->Pull(round.round(), &global_));
  std::vector<std::vector<float>> local = global_;
  PETREL_ASSIGN_OR_RETURN(LocalResult trained, LocalEpochs(round.round(), &local));

  UploadOptions options;
  options.self = context_.worker_id;
  // DP-FedAvg weighs every update alike so that one worker's influence is
  // bounded by the clip norm; plain FedAvg weighs by example count.
  options.weight = spec.has_dp() ? 1.0 : static_cast<double>(train_.num_examples);
  options.clip_norm = spec.has_dp() ? spec.dp().clip_norm() : 0;
  if (spec.federated().secure_aggregation()) {
    PETREL_ASSIGN_OR_RETURN(options.peer_seeds, PeerSeeds(round, /*dropped_only=*/false));
  }
  PETREL_ASSIGN_OR_RETURN(RoundUpload upload, BuildRoundUpload(global_, local, options));
  PETREL_RETURN_IF_ERROR(context_.ps->PushRoundUpdate(round.round(), upload.values, upload.weight));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  spdlog::info("job {}: round {} trained ({} local epochs, loss {:.4f}, delta norm {:.3f}{}) and "
               "uploaded{} in {:.2f} s",
               context_.assignment.job_id(), round.round(), spec.federated().local_epochs(),
               trained.mean_loss, upload.delta_norm, upload.clipped ? ", clipped" : "",
               options.peer_seeds.empty() ? "" : " masked", seconds);
  reporter_.report().set_train_loss(trained.mean_loss);
  reporter_.report().set_samples_per_second(seconds > 0 ? trained.examples / seconds : 0);
  return absl::OkStatus();
}

absl::StatusOr<double> FederatedTrainer::Evaluate() {
  PETREL_RETURN_IF_ERROR(context_.ps->Pull(0, &global_));
  PETREL_RETURN_IF_ERROR(mlp_->SetParameters({global_.begin(), global_.end()}));
  PETREL_ASSIGN_OR_RETURN(model::EvalResult result,
                          mlp_->Evaluate(test_.features.data(), test_.labels.data(),
                                         test_.num_examples));
  return result.accuracy;
}

absl::Status FederatedTrainer::Train() {
  const JobAssignment& job = context_.assignment;
  ReportProgressRequest& report = reporter_.report();
  report.set_steps_per_epoch(1);
  PETREL_RETURN_IF_ERROR(context_.backend->SetAllowTf32(job.spec().training().allow_tf32()));
  PETREL_RETURN_IF_ERROR(Load());
  spdlog::info("job {}: federated, rank {} of {}, {} local examples{}", job.job_id(), job.rank(),
               job.num_workers(), train_.num_examples,
               job.spec().federated().secure_aggregation() ? ", secure aggregation" : "");

  RoundRequest request;
  request.set_job_id(job.job_id());
  request.set_worker_id(context_.worker_id);
  request.set_attempt(job.attempt());
  request.set_public_key(keys_.public_key);
  request.set_uploaded_round(-1);
  request.set_reveal_round(-1);
  int64_t trained_round = -1, evaluated = 0;
  absl::Time last_report = absl::Now();
  while (true) {
    if (context_.stop_requested()) return absl::CancelledError("worker stopping");
    PETREL_ASSIGN_OR_RETURN(RoundInfo info, Poll(&request));
    if (info.state() != RUNNING) {
      return absl::CancelledError(absl::StrCat("job ", job.job_id(), " is ", JobState_Name(info.state())));
    }
    // Steps and clocks count applied rounds (the accuracy history's x axis).
    report.set_clock(info.rounds_completed());
    report.set_step(info.rounds_completed());
    report.set_epoch(static_cast<int>(info.round()));
    if (info.phase() == ROUNDS_DONE) break;
    if (info.phase() == ROUND_TRAINING && info.participant() && !info.uploaded() &&
        info.round() > trained_round) {
      trained_round = info.round();
      absl::Status trained = TrainRound(info);
      // A round closed under this worker (it was too slow) is not an error
      // (server/round_aggregator.h).
      if (absl::IsOutOfRange(trained)) {
        spdlog::warn("job {}: round {} closed before this worker's upload arrived",
                     job.job_id(), info.round());
        continue;
      }
      PETREL_RETURN_IF_ERROR(trained);
      request.set_uploaded_round(info.round());
      continue;  // tell the coordinator at once
    }
    if (info.phase() == ROUND_REVEAL && info.participant() && info.uploaded() &&
        !info.revealed() && request.reveal_round() != info.round()) {
      PETREL_ASSIGN_OR_RETURN(auto seeds, PeerSeeds(info, /*dropped_only=*/true));
      request.set_reveal_round(info.round());
      request.clear_reveals();
      for (auto& [peer, seed] : seeds) {
        PairSeed* reveal = request.add_reveals();
        reveal->set_peer(peer);
        reveal->set_seed(seed);
      }
      continue;
    }
    const bool eval_due = job.rank() == 0 && info.rounds_completed() > evaluated;
    if (eval_due) {
      evaluated = info.rounds_completed();
      PETREL_ASSIGN_OR_RETURN(double accuracy, Evaluate());
      report.set_has_test_accuracy(true);
      report.set_test_accuracy(accuracy);
      spdlog::info("job {}: after round {}: test accuracy {:.4f}", job.job_id(), evaluated - 1,
                   accuracy);
    }
    if (eval_due || absl::Now() - last_report > absl::Milliseconds(500)) {
      last_report = absl::Now();
      PETREL_RETURN_IF_ERROR(reporter_.SendDuringTraining());
    }
    absl::SleepFor(kPollInterval);
  }

  // Every round is applied: report the end; rank 0 waits for the others and
  // evaluates the final model, as the synchronous trainer does.
  return reporter_.Finish(job.num_workers(), [&]() -> absl::Status {
    PETREL_ASSIGN_OR_RETURN(double accuracy, Evaluate());
    report.set_has_test_accuracy(true);
    report.set_test_accuracy(accuracy);
    return absl::OkStatus();
  });
}

}  // namespace petrel::worker

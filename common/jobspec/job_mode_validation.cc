// The checks of a job's mode (sync, federated, ensemble), the sections that
// belong to one mode, and how the data is dealt to the workers. Split from
// job_validation.cc, which checks the sections every job has.
#include <cmath>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/jobspec/job_validation.h"

namespace petrel::job_file_internal {
namespace {

// The smallest federated job with secure aggregation: with two workers each
// would learn the other's update from the sum and its own.
constexpr int kMinSecureAggregationWorkers = 3;
constexpr int kMaxEnsembleMembers = 16;

class ModeChecker {
 public:
  explicit ModeChecker(const FieldLocator& where) : where_(where) {}

  absl::Status Check(const JobSpec& spec) {
    const std::string& mode = spec.mode();
    if (mode != "" && mode != "sync" && mode != "federated" && mode != "ensemble") {
      return Error("mode", absl::StrCat("mode must be \"sync\", \"federated\" or \"ensemble\", "
                                        "got ",
                                        Quote(mode),
                                        DidYouMean(mode, {"sync", "federated", "ensemble"}, "")));
    }
    if (mode != "federated") {
      if (spec.has_federated()) {
        return Error("federated", absl::StrCat("the federated section needs mode \"federated\" "
                                               "(the job's mode is ",
                                               Quote(mode.empty() ? "sync" : mode), ")"));
      }
      if (spec.has_dp()) {
        return Error("dp", "dp (differential privacy) is only available with mode \"federated\"");
      }
    }
    if (mode != "ensemble" && spec.has_ensemble()) {
      return Error("ensemble", "the ensemble section needs mode \"ensemble\"");
    }
    if (absl::Status data = CheckPartition(spec); !data.ok()) return data;
    if (mode == "federated") return CheckFederated(spec);
    if (mode == "ensemble") return CheckEnsemble(spec);
    return absl::OkStatus();
  }

 private:
  absl::Status Error(const std::string& path, absl::string_view message) {
    return absl::InvalidArgumentError(absl::StrCat(where_(path), message));
  }

  absl::Status CheckPartition(const JobSpec& spec) {
    const DataSpec& data = spec.data();
    const std::string& partition = data.partition();
    if (partition != "" && partition != "iid" && partition != "by_label") {
      return Error("data.partition",
                   absl::StrCat("data.partition must be \"iid\" or \"by_label\", got ",
                                Quote(partition), DidYouMean(partition, {"iid", "by_label"}, "")));
    }
    if (partition != "by_label") {
      if (data.classes_per_worker() != 0) {
        return Error("data.classes_per_worker",
                     "data.classes_per_worker is only used with data.partition \"by_label\"");
      }
      return absl::OkStatus();
    }
    if (spec.model().type() == "sparse_logistic") {
      return Error("data.partition",
                   "data.partition \"by_label\" needs a model that reads IDX images "
                   "(softmax or mlp)");
    }
    const int classes = spec.model().num_classes();
    if (data.classes_per_worker() < 1 || data.classes_per_worker() > classes) {
      return Error("data.classes_per_worker",
                   absl::StrCat("data.classes_per_worker must be between 1 and model.num_classes (",
                                classes, "), got ", data.classes_per_worker()));
    }
    return absl::OkStatus();
  }

  absl::Status CheckFederated(const JobSpec& spec) {
    const FederatedSpec& f = spec.federated();
    if (spec.model().type() == "sparse_logistic") {
      return Error("mode", "mode \"federated\" trains dense models (softmax or mlp); "
                           "model.type \"sparse_logistic\" is not supported");
    }
    if (f.rounds() < 1) {
      return Error("federated.rounds",
                   absl::StrCat("federated.rounds must be at least 1, got ", f.rounds()));
    }
    if (f.local_epochs() < 1) {
      return Error("federated.local_epochs",
                   absl::StrCat("federated.local_epochs (E) must be at least 1: with E = ",
                                f.local_epochs(), " a worker trains nothing in a round"));
    }
    if (!std::isfinite(f.client_fraction()) || f.client_fraction() <= 0 ||
        f.client_fraction() > 1) {
      return Error("federated.client_fraction",
                   absl::StrCat("federated.client_fraction must be in (0, 1] (the share of "
                                "the workers sampled each round), got ",
                                f.client_fraction()));
    }
    if (!std::isfinite(f.round_deadline_seconds()) || f.round_deadline_seconds() <= 0) {
      return Error("federated.round_deadline_seconds",
                   absl::StrCat("federated.round_deadline_seconds must be a positive number of "
                                "seconds, got ",
                                f.round_deadline_seconds()));
    }
    if (!std::isfinite(f.client_learning_rate()) || f.client_learning_rate() <= 0) {
      return Error("federated.client_learning_rate",
                   absl::StrCat("federated.client_learning_rate must be a positive number, got ",
                                f.client_learning_rate()));
    }
    if (f.secure_aggregation() && spec.cluster().workers() < kMinSecureAggregationWorkers) {
      return Error("federated.secure_aggregation",
                   absl::StrCat("federated.secure_aggregation needs at least ",
                                kMinSecureAggregationWorkers,
                                " workers (with 2, each could subtract its own update from the "
                                "sum and learn the other's), got cluster.workers ",
                                spec.cluster().workers()));
    }
    if (spec.compression().type() != "" && spec.compression().type() != "none") {
      return Error("compression.type",
                   "compression is not available in mode \"federated\" (uploads are "
                   "fixed-point model deltas)");
    }
    if (spec.checkpoint().every_clocks() > 0 || !spec.checkpoint().resume_from().empty()) {
      return Error("checkpoint", "checkpoints are not available in mode \"federated\" yet");
    }
    if (spec.has_dp()) return CheckDp(spec.dp());
    return absl::OkStatus();
  }

  absl::Status CheckDp(const DpSpec& dp) {
    if (!std::isfinite(dp.clip_norm()) || dp.clip_norm() <= 0) {
      return Error("dp.clip_norm",
                   absl::StrCat("dp.clip_norm must be a positive number: differential privacy "
                                "needs every update clipped to bound one worker's influence "
                                "(e.g. clip_norm: 1.0), got ",
                                dp.clip_norm()));
    }
    if (!std::isfinite(dp.noise_multiplier()) || dp.noise_multiplier() <= 0) {
      return Error("dp.noise_multiplier",
                   absl::StrCat("dp.noise_multiplier must be a positive number (noise stddev "
                                "in units of clip_norm, e.g. 1.0), got ",
                                dp.noise_multiplier()));
    }
    if (!(dp.delta() > 0 && dp.delta() < 1)) {
      return Error("dp.delta",
                   absl::StrCat("dp.delta must be in (0, 1), e.g. 1e-5, got ", dp.delta()));
    }
    return absl::OkStatus();
  }

  absl::Status CheckEnsemble(const JobSpec& spec) {
    if (spec.model().type() == "sparse_logistic") {
      return Error("mode", "mode \"ensemble\" trains dense models (softmax or mlp); "
                           "model.type \"sparse_logistic\" is not supported");
    }
    const int members = spec.ensemble().members();
    if (members < 2 || members > kMaxEnsembleMembers) {
      return Error("ensemble.members",
                   absl::StrCat("ensemble.members must be between 2 and ", kMaxEnsembleMembers,
                                ", got ", members));
    }
    return absl::OkStatus();
  }

  const FieldLocator& where_;
};

}  // namespace

absl::Status CheckModes(const JobSpec& spec, const FieldLocator& where) {
  return ModeChecker(where).Check(spec);
}

}  // namespace petrel::job_file_internal

// mode: ensemble: K independent copies of a dense model (softmax or MLP),
// trained at once on the same servers, each under its own table names
// ("member<k>/layer0/weights", common/model_tables.h JobTables).
//
// A step pulls every table once (all members), computes each member's
// gradient on that member's own batch and pushes all of them in one push.
// Member k sees the trainer's batch indices through a fixed permutation of
// the worker's shard (MemberOrder), so members visit the data in different
// orders; the servers initialise each table from (seed, table name), so
// members also start from different points. Evaluation averages the
// members' predicted probabilities over the test set.
#ifndef PETREL_WORKER_ENSEMBLE_STEP_MODEL_H_
#define PETREL_WORKER_ENSEMBLE_STEP_MODEL_H_

#include <cstdint>
#include <vector>

#include "worker/step_model.h"

namespace petrel::worker {

absl::StatusOr<std::unique_ptr<StepModel>> CreateEnsembleStepModel(
    const JobAssignment& assignment, kernels::Backend* backend, PsClient* ps);

// The permutation of [0, count) through which member `member` of worker
// `rank` reads the trainer's batch indices: member k's example for index i
// is order[i]. Drawn from data::ShuffledOrder with shard numbers far above
// any rank, so it is independent of the trainer's per-epoch orders.
std::vector<int64_t> MemberOrder(int64_t count, uint64_t seed, int member, int rank);

// Ensemble accuracy of averaged probabilities: `member_probabilities[k]`
// holds count x classes probabilities of member k. Returns the accuracy of
// the arg-max of their mean, and fills `member_accuracies` with each
// member's own accuracy.
double AverageProbabilitiesAccuracy(const std::vector<std::vector<float>>& member_probabilities,
                                    const std::vector<int32_t>& labels, int classes,
                                    std::vector<double>* member_accuracies);

}  // namespace petrel::worker

#endif  // PETREL_WORKER_ENSEMBLE_STEP_MODEL_H_

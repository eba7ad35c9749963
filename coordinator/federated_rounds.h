// The rounds of one federated job (docs/federated.md), as the coordinator
// runs them:
//
//   WAITING --(every live worker of the job polled, with its key, or a
//              deadline passed and enough had)--> TRAINING
//   TRAINING --(every sampled worker uploaded, or the deadline passed, or a
//              sampled worker departed)--> CLOSING, or REVEAL when masks of
//              dropped workers must be removed, or the next round when too
//              few uploaded (the round is abandoned: the model stays as it is)
//   REVEAL --(every survivor revealed its seeds with the dropped)--> CLOSING
//          --(deadline, or a survivor departed)--> abandoned
//   CLOSING --(every server of every group applied the round)--> the next
//             round's TRAINING, or DONE after the last round
//
// Each round samples ceil(client_fraction x workers) of the job's live
// workers (at least 3 under secure aggregation), reproducibly from the job's
// seed and the round. DP jobs sample by Poisson instead: each worker joins
// on its own with probability client_fraction, as the RDP accountant
// assumes; a sample too small for the round abandons it, and every sampled
// round, applied or abandoned, is charged. Pure logic on a caller-given clock; the coordinator
// service holds it under its lock and makes the CloseRound calls.
#ifndef PETREL_COORDINATOR_FEDERATED_ROUNDS_H_
#define PETREL_COORDINATOR_FEDERATED_ROUNDS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "proto/coordinator.pb.h"
#include "proto/parameter.pb.h"

namespace petrel::coordinator {

class FederatedRounds {
 public:
  // A worker of the job that has not departed.
  struct Worker {
    std::string id;
    int rank = 0;
  };

  // Picks up after `previous` (a restarted coordinator's saved status): the
  // round that was in progress is abandoned and the next one starts.
  FederatedRounds(std::string job_id, const JobSpec& spec,
                  const FederatedStatus& previous = FederatedStatus());

  // A worker's poll: takes its key, its upload report or its reveal, and
  // answers with the round as it stands (state is the job's). INVALID_ARGUMENT
  // for a bad key or reveal, which changes nothing.
  absl::StatusOr<RoundInfo> Handle(const RoundRequest& request);

  // Moves the rounds on, given the job's live workers. Returns the close the
  // servers must apply now, once per attempt: after Closed(ok = false) the
  // same close is returned again (servers apply a close once).
  std::optional<CloseRoundRequest> Advance(const std::vector<Worker>& live, absl::Time now);
  // The outcome of the close Advance returned, on every server.
  void Closed(int64_t round, const absl::Status& outcome, absl::Time now);

  bool done() const { return phase_ == ROUNDS_DONE; }
  const FederatedStatus& status() const { return status_; }

 private:
  void StartRound(const std::vector<Worker>& live, absl::Time now);
  void Abandon(const std::string& why);
  void Close();
  bool Sampled(const std::string& id) const;
  // The request comes from a participant of this round with the key the
  // round was sampled with.
  bool SameKey(const RoundRequest& request) const;
  void UpdateStatus();
  // DP jobs: epsilon after every sampled round so far (applied or abandoned).
  void ChargePrivacy();

  const std::string job_id_;
  const JobSpec spec_;
  const int min_uploads_;        // fewer and the round is abandoned
  FederatedStatus status_;
  RoundPhase phase_ = ROUND_WAITING;
  int64_t round_ = 0;
  absl::Time round_started_;
  absl::Time waiting_since_ = absl::InfinitePast();  // in ROUND_WAITING
  absl::Time deadline_;
  std::map<std::string, std::string> keys_;  // worker id -> X25519 public key
  std::vector<RoundParticipant> participants_;
  std::set<std::string> uploaded_, dropped_;
  // survivor -> dropped peer -> seed
  std::map<std::string, std::map<std::string, std::string>> reveals_;
  std::optional<CloseRoundRequest> close_;
  bool close_in_flight_ = false;
  int population_ = 0;  // live workers the round was sampled from
};

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_FEDERATED_ROUNDS_H_

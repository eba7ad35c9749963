#include "coordinator/federated_rounds.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/federated/rdp_accountant.h"
#include "spdlog/spdlog.h"

namespace petrel::coordinator {
namespace {

constexpr size_t kKeyBytes = 32;
// Under secure aggregation the servers must never see fewer than this many
// updates summed: one alone would be that worker's update.
constexpr int kMinSecureSample = 3;
constexpr int kMinSecureUploads = 2;

}  // namespace

FederatedRounds::FederatedRounds(std::string job_id, const JobSpec& spec,
                                 const FederatedStatus& previous)
    : job_id_(std::move(job_id)),
      spec_(spec),
      min_uploads_(spec.federated().secure_aggregation() ? kMinSecureUploads : 1),
      status_(previous) {
  // A round in progress when the coordinator stopped is not resumed: its
  // uploads may or may not have been applied, and its masks are gone.
  // (Servers accept any round from their open one on, so skipping a number
  // is harmless.)
  if (!previous.phase().empty()) round_ = previous.round() + 1;
  // It was sampled (and maybe applied on some servers): it counts as
  // abandoned, and DP charges it.
  if (previous.phase() == "ROUND_TRAINING" || previous.phase() == "ROUND_REVEAL" ||
      previous.phase() == "ROUND_CLOSING") {
    status_.set_rounds_abandoned(status_.rounds_abandoned() + 1);
    ChargePrivacy();
  }
  if (status_.rounds_completed() >= spec_.federated().rounds()) phase_ = ROUNDS_DONE;
  UpdateStatus();
}

bool FederatedRounds::Sampled(const std::string& id) const {
  return std::any_of(participants_.begin(), participants_.end(),
                     [&](const RoundParticipant& p) { return p.worker_id() == id; });
}

bool FederatedRounds::SameKey(const RoundRequest& request) const {
  for (const RoundParticipant& p : participants_) {
    if (p.worker_id() == request.worker_id()) return p.public_key() == request.public_key();
  }
  return false;
}

absl::StatusOr<RoundInfo> FederatedRounds::Handle(const RoundRequest& request) {
  const std::string& worker = request.worker_id();
  const bool secure = spec_.federated().secure_aggregation();
  if (secure && request.public_key().size() != kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "job ", job_id_, " uses secure aggregation: ", worker, " must send its 32-byte X25519 "
        "public key, got ", request.public_key().size(), " bytes"));
  }
  // A worker whose trainer restarted mid-round has a new key: the masks it
  // would upload or reveal now do not match the ones its peers used, so
  // neither counts for this round (it is dropped, or the round abandoned).
  const bool same_key = SameKey(request);
  if (request.reveal_round() == round_ && phase_ == ROUND_REVEAL && uploaded_.count(worker) &&
      same_key) {
    std::map<std::string, std::string> seeds;
    for (const PairSeed& reveal : request.reveals()) {
      if (!dropped_.count(reveal.peer()) || reveal.seed().size() != kKeyBytes) {
        return absl::InvalidArgumentError(absl::StrCat(
            "round ", round_, ": ", worker, " revealed a seed for ", reveal.peer(),
            ", which is not a dropped worker of the round, or a seed that is not 32 bytes"));
      }
      seeds[reveal.peer()] = reveal.seed();
    }
    if (seeds.size() != dropped_.size()) {
      return absl::InvalidArgumentError(absl::StrCat("round ", round_, ": ", worker, " revealed ",
                                                     seeds.size(), " seeds for ", dropped_.size(),
                                                     " dropped workers"));
    }
    reveals_[worker] = std::move(seeds);
  }
  keys_[worker] = request.public_key();
  if (request.uploaded_round() == round_ && phase_ == ROUND_TRAINING && same_key) {
    uploaded_.insert(worker);
  }

  RoundInfo info;
  info.set_state(RUNNING);
  info.set_round(round_);
  info.set_phase(phase_);
  info.set_rounds_completed(status_.rounds_completed());
  info.set_deadline_unix(absl::ToDoubleSeconds(deadline_ - absl::UnixEpoch()));
  if (phase_ == ROUND_TRAINING || phase_ == ROUND_REVEAL || phase_ == ROUND_CLOSING) {
    *info.mutable_participants() = {participants_.begin(), participants_.end()};
    info.set_participant(Sampled(worker));
    info.set_uploaded(uploaded_.count(worker) > 0);
    info.set_revealed(reveals_.count(worker) > 0);
  }
  if (phase_ == ROUND_REVEAL) {
    for (const std::string& id : dropped_) info.add_dropped(id);
  }
  return info;
}

void FederatedRounds::StartRound(const std::vector<Worker>& live, absl::Time now) {
  const FederatedSpec& federated = spec_.federated();
  std::vector<Worker> ready;
  for (const Worker& worker : live) {
    if (keys_.count(worker.id)) ready.push_back(worker);
  }
  std::sort(ready.begin(), ready.end(), [](const Worker& a, const Worker& b) { return a.rank < b.rank; });
  const int n = static_cast<int>(ready.size());
  // Drawn from (seed, round): the sample reproduces on any standard library
  // (mt19937_64's output is fixed; its distributions are not).
  std::mt19937_64 rng(spec_.training().seed() * 0x9E3779B97F4A7C15ULL + round_);
  if (spec_.has_dp()) {
    // Poisson sampling: each worker joins on its own with probability q,
    // which is what the accountant's bound for the sampled Gaussian
    // mechanism assumes (a fixed-size sample is not covered by it).
    const double q = federated.client_fraction();
    std::vector<Worker> sample;
    for (const Worker& worker : ready) {  // rank order
      const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53;  // uniform in [0, 1)
      if (u < q) sample.push_back(worker);
    }
    ready = std::move(sample);
  } else {
    int m = static_cast<int>(std::ceil(federated.client_fraction() * n - 1e-9));
    if (federated.secure_aggregation()) m = std::max(m, kMinSecureSample);
    m = std::clamp(m, 1, n);
    // Partial Fisher-Yates.
    for (int i = 0; i < m; ++i) {
      std::swap(ready[i], ready[i + rng() % static_cast<uint64_t>(n - i)]);
    }
    ready.resize(m);
    std::sort(ready.begin(), ready.end(),
              [](const Worker& a, const Worker& b) { return a.rank < b.rank; });
  }
  participants_.clear();
  for (const Worker& worker : ready) {
    RoundParticipant participant;
    participant.set_worker_id(worker.id);
    participant.set_rank(worker.rank);
    participant.set_public_key(keys_[worker.id]);
    participants_.push_back(std::move(participant));
  }
  population_ = n;
  uploaded_.clear();
  dropped_.clear();
  reveals_.clear();
  close_.reset();
  phase_ = ROUND_TRAINING;
  round_started_ = now;
  deadline_ = now + absl::Seconds(federated.round_deadline_seconds());
  UpdateStatus();
  const int needed = federated.secure_aggregation() ? kMinSecureSample : 1;
  if (static_cast<int>(participants_.size()) < needed) {
    Abandon(absl::StrCat("the Poisson sample at q = ", federated.client_fraction(), " drew ",
                         participants_.size(), " of ", n, " workers (at least ", needed,
                         " needed)"));
  }
}

void FederatedRounds::Abandon(const std::string& why) {
  spdlog::warn("job {}: round {} abandoned, the model is left as it was: {}", job_id_, round_, why);
  status_.set_rounds_abandoned(status_.rounds_abandoned() + 1);
  status_.set_workers_dropped(status_.workers_dropped() + static_cast<int64_t>(dropped_.size()));
  ChargePrivacy();  // the round was sampled: what it shows may depend on who was
  round_ += 1;
  phase_ = ROUND_WAITING;
  participants_.clear();
  UpdateStatus();
}

void FederatedRounds::ChargePrivacy() {
  if (!spec_.has_dp()) return;
  status_.set_dp_sampling_rate(spec_.federated().client_fraction());
  const int64_t rounds = status_.rounds_completed() + status_.rounds_abandoned();
  auto spent = dp::EpsilonSpent(status_.dp_sampling_rate(), spec_.dp().noise_multiplier(), rounds,
                                spec_.dp().delta());
  if (spent.ok()) {
    status_.set_dp_epsilon(spent->epsilon);
    status_.set_dp_delta(spent->delta);
  }
}

void FederatedRounds::Close() {
  CloseRoundRequest close;
  close.set_job_id(job_id_);
  close.set_round(round_);
  for (const std::string& id : uploaded_) close.add_contributors(id);
  for (const auto& [survivor, seeds] : reveals_) {
    for (const auto& [dropped, seed] : seeds) {
      MaskCorrection* correction = close.add_corrections();
      correction->set_survivor(survivor);
      correction->set_dropped(dropped);
      correction->set_seed(seed);
    }
  }
  // DP: divide by the expected participants, never by who actually took part.
  if (spec_.has_dp()) {
    close.set_fixed_denominator(spec_.federated().client_fraction() * population_);
  }
  // The DP noise comes from a fresh random seed, the same on every replica.
  std::random_device entropy;
  close.set_noise_seed((uint64_t{entropy()} << 32) | entropy());
  close_ = std::move(close);
  close_in_flight_ = false;
  phase_ = ROUND_CLOSING;
  UpdateStatus();
}

std::optional<CloseRoundRequest> FederatedRounds::Advance(const std::vector<Worker>& live,
                                                          absl::Time now) {
  std::set<std::string> alive;
  for (const Worker& worker : live) alive.insert(worker.id);
  switch (phase_) {
    case ROUND_WAITING: {
      // Sample once every live worker has polled (and sent its key), or,
      // after a deadline's wait, among those that have.
      if (waiting_since_ == absl::InfinitePast()) waiting_since_ = now;
      const int needed = spec_.federated().secure_aggregation() ? kMinSecureSample : 1;
      const int ready = static_cast<int>(std::count_if(
          live.begin(), live.end(), [&](const Worker& w) { return keys_.count(w.id) > 0; }));
      const bool waited = now - waiting_since_ >=
                          absl::Seconds(spec_.federated().round_deadline_seconds());
      if (ready >= needed && (ready == static_cast<int>(live.size()) || waited)) {
        waiting_since_ = absl::InfinitePast();
        StartRound(live, now);
      }
      return std::nullopt;
    }
    case ROUND_TRAINING: {
      bool lost = false;
      for (const RoundParticipant& p : participants_) {
        if (!uploaded_.count(p.worker_id()) && !alive.count(p.worker_id())) lost = true;
      }
      if (uploaded_.size() == participants_.size()) {
        Close();
      } else if (now >= deadline_ || lost) {
        for (const RoundParticipant& p : participants_) {
          if (!uploaded_.count(p.worker_id())) dropped_.insert(p.worker_id());
        }
        spdlog::info("job {}: round {}: dropped {} ({}); {} of {} uploaded", job_id_, round_,
                     absl::StrJoin(dropped_, ", "), lost ? "departed" : "past the deadline",
                     uploaded_.size(), participants_.size());
        if (static_cast<int>(uploaded_.size()) < min_uploads_) {
          Abandon(absl::StrCat("only ", uploaded_.size(), " of ", participants_.size(),
                               " sampled workers uploaded (at least ", min_uploads_, " needed)"));
        } else if (spec_.federated().secure_aggregation()) {
          // The survivors' uploads hold masks shared with the dropped: ask
          // the survivors for those seeds.
          phase_ = ROUND_REVEAL;
          deadline_ = now + absl::Seconds(spec_.federated().round_deadline_seconds());
          UpdateStatus();
        } else {
          Close();
        }
      }
      return std::nullopt;
    }
    case ROUND_REVEAL: {
      if (reveals_.size() == uploaded_.size()) {
        Close();
        return std::nullopt;
      }
      for (const std::string& survivor : uploaded_) {
        if (!reveals_.count(survivor) && (!alive.count(survivor) || now >= deadline_)) {
          Abandon(absl::StrCat(survivor, " did not reveal its seeds with the dropped workers, "
                               "so their masks cannot be removed"));
          return std::nullopt;
        }
      }
      return std::nullopt;
    }
    case ROUND_CLOSING:
      if (close_in_flight_ || !close_) return std::nullopt;
      close_in_flight_ = true;
      return close_;
    default:
      return std::nullopt;
  }
}

void FederatedRounds::Closed(int64_t round, const absl::Status& outcome, absl::Time now) {
  if (phase_ != ROUND_CLOSING || round != round_) return;
  close_in_flight_ = false;
  if (!outcome.ok()) {
    spdlog::warn("job {}: closing round {} failed ({}); retrying", job_id_, round_,
                 outcome.ToString());
    return;
  }
  status_.set_rounds_completed(status_.rounds_completed() + 1);
  status_.set_last_contributors(static_cast<int>(uploaded_.size()));
  status_.clear_last_dropped();
  for (const std::string& id : dropped_) status_.add_last_dropped(id);
  status_.set_workers_dropped(status_.workers_dropped() + static_cast<int64_t>(dropped_.size()));
  status_.set_last_round_seconds(absl::ToDoubleSeconds(now - round_started_));
  ChargePrivacy();
  spdlog::info("job {}: round {} applied: {} contributors, {} dropped, {:.2f} s{}", job_id_,
               round_, uploaded_.size(), dropped_.size(), status_.last_round_seconds(),
               spec_.has_dp() ? absl::StrCat(", epsilon ", status_.dp_epsilon()) : "");
  round_ += 1;
  participants_.clear();
  phase_ = status_.rounds_completed() >= spec_.federated().rounds() ? ROUNDS_DONE : ROUND_WAITING;
  UpdateStatus();
}

void FederatedRounds::UpdateStatus() {
  status_.set_round(round_);
  status_.set_phase(RoundPhase_Name(phase_));
}

}  // namespace petrel::coordinator

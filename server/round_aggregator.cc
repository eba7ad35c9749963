#include "server/round_aggregator.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "common/federated/secure_agg.h"

namespace petrel::server {
namespace {

uint64_t ReadUint64(const char* bytes) {
  uint64_t value;
  std::memcpy(&value, bytes, sizeof(value));  // little-endian hosts only, as the wire format
  return value;
}

// One stream of normal noise per (seed, range): every replica draws the same
// numbers, whatever order it closes ranges in.
std::mt19937_64 NoiseStream(uint64_t seed, size_t range) {
  std::seed_seq sequence{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                         static_cast<uint32_t>(range)};
  return std::mt19937_64(sequence);
}

}  // namespace

int RoundAggregator::FindRange(const Slice& slice) const {
  for (size_t i = 0; i < ranges_.size(); ++i) {
    const RangeLayout& range = ranges_[i];
    if (range.table == slice.table() && slice.begin() >= range.begin &&
        slice.end() <= range.end && slice.begin() < slice.end()) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

absl::Status RoundAggregator::Add(const PushRequest& request) {
  const int64_t round = request.clock();
  const std::string& worker = request.worker_id();
  if (round < open_round_) {
    return absl::OutOfRangeError(
        absl::StrCat("round ", round, " is closed (this server is at round ", open_round_,
                     "); the upload of ", worker, " came too late"));
  }
  if (request.weight().size() != sizeof(uint64_t)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a FIXED64 upload carries its weight as 8 bytes, got ", request.weight().size()));
  }
  if (request.gradients_size() != request.slices_size() || request.sparse_size() > 0) {
    return absl::InvalidArgumentError(
        "a FIXED64 upload has one payload per dense slice and no sparse rows");
  }
  std::vector<int> index(request.slices_size());
  for (int s = 0; s < request.slices_size(); ++s) {
    const Slice& slice = request.slices(s);
    index[s] = FindRange(slice);
    if (index[s] < 0) {
      return absl::InvalidArgumentError(absl::StrCat("slice [", slice.begin(), ", ", slice.end(),
                                                     ") of ", slice.table(),
                                                     " is not held by this server"));
    }
    const int64_t count = slice.end() - slice.begin();
    if (request.gradients(s).size() != static_cast<size_t>(count) * sizeof(uint64_t)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "a FIXED64 slice of ", count, " elements needs ", count * sizeof(uint64_t),
          " bytes, got ", request.gradients(s).size()));
    }
  }
  Upload& upload = uploads_[round][worker];
  if (upload.values.empty()) {
    upload.values.resize(ranges_.size());
    upload.written.resize(ranges_.size());
  }
  for (int s = 0; s < request.slices_size(); ++s) {
    const Slice& slice = request.slices(s);
    const RangeLayout& range = ranges_[index[s]];
    std::vector<uint64_t>& held = upload.values[index[s]];
    std::vector<bool>& written = upload.written[index[s]];
    if (held.empty()) {
      held.assign(range.end - range.begin, 0);
      written.assign(range.end - range.begin, false);
    }
    const int64_t offset = slice.begin() - range.begin;
    const int64_t count = slice.end() - slice.begin();
    std::memcpy(held.data() + offset, request.gradients(s).data(), count * sizeof(uint64_t));
    std::fill_n(written.begin() + offset, count, true);
  }
  upload.weight = ReadUint64(request.weight().data());
  upload.has_weight = true;
  return absl::OkStatus();
}

absl::Status RoundAggregator::CheckComplete(const std::string& worker,
                                            const Upload& upload) const {
  for (size_t i = 0; i < ranges_.size(); ++i) {
    const bool whole = i < upload.written.size() && !upload.written[i].empty() &&
                       std::find(upload.written[i].begin(), upload.written[i].end(), false) ==
                           upload.written[i].end();
    if (!whole || !upload.has_weight) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the upload of ", worker, " lacks part of [", ranges_[i].begin, ", ", ranges_[i].end,
          ") of ", ranges_[i].table));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<RoundAggregator::Aggregate> RoundAggregator::Close(
    const CloseRoundRequest& request, const Noise& noise) {
  const int64_t round = request.round();
  if (round == open_round_ - 1) {
    return absl::AlreadyExistsError(absl::StrCat("round ", round, " is already closed"));
  }
  if (round < open_round_) {
    return absl::FailedPreconditionError(
        absl::StrCat("round ", round, " is long closed (open round ", open_round_, ")"));
  }
  if (request.contributors_size() == 0) {
    return absl::InvalidArgumentError(absl::StrCat("round ", round, " closes with no contributor"));
  }
  if (!(request.fixed_denominator() >= 0) || std::isinf(request.fixed_denominator())) {
    return absl::InvalidArgumentError(absl::StrCat("round ", round, ": fixed_denominator ",
                                                   request.fixed_denominator(),
                                                   " is not a finite number >= 0"));
  }
  static const std::map<std::string, Upload> kNone;
  auto found = uploads_.find(round);
  const std::map<std::string, Upload>& round_uploads =
      found == uploads_.end() ? kNone : found->second;
  const std::set<std::string> contributors(request.contributors().begin(),
                                           request.contributors().end());
  if (contributors.size() != static_cast<size_t>(request.contributors_size())) {
    return absl::InvalidArgumentError(absl::StrCat("round ", round, " names a contributor twice"));
  }
  for (const std::string& worker : contributors) {
    auto it = round_uploads.find(worker);
    if (it == round_uploads.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("round ", round, ": no upload from contributor ", worker));
    }
    if (absl::Status whole = CheckComplete(worker, it->second); !whole.ok()) return whole;
  }
  // A correction removes a mask that a contributor shares with a worker
  // whose upload is not in the sum; anything else would corrupt it.
  for (const MaskCorrection& correction : request.corrections()) {
    if (correction.seed().size() != 32 || !contributors.count(correction.survivor()) ||
        contributors.count(correction.dropped())) {
      return absl::InvalidArgumentError(absl::StrCat("round ", round, ": bad mask correction for ",
                                                     correction.survivor(), " and ",
                                                     correction.dropped()));
    }
  }

  // Everything checked: sum mod 2^64, then take the dropped workers' masks out.
  Aggregate aggregate;
  aggregate.contributors = request.contributors_size();
  std::vector<std::vector<uint64_t>> sums(ranges_.size());
  uint64_t weight = 0;
  for (size_t i = 0; i < ranges_.size(); ++i) sums[i].assign(ranges_[i].end - ranges_[i].begin, 0);
  for (const std::string& worker : request.contributors()) {
    const Upload& upload = round_uploads.at(worker);
    for (size_t i = 0; i < ranges_.size(); ++i) {
      for (size_t k = 0; k < sums[i].size(); ++k) sums[i][k] += upload.values[i][k];
    }
    weight += upload.weight;
  }
  for (const MaskCorrection& correction : request.corrections()) {
    // The survivor added MaskSign(survivor, dropped) * mask; the dropped
    // worker's opposite mask never arrived.
    const int undo = -secagg::MaskSign(correction.survivor(), correction.dropped());
    for (size_t i = 0; i < ranges_.size(); ++i) {
      secagg::ApplyMask(correction.seed(), ranges_[i].stream, ranges_[i].begin, undo,
                        absl::MakeSpan(sums[i]));
    }
    secagg::ApplyMask(correction.seed(), secagg::kWeightStream, 0, undo,
                      absl::MakeSpan(&weight, 1));
  }
  aggregate.weight = secagg::DecodeFixed(weight);
  const double divisor = request.fixed_denominator() > 0 ? request.fixed_denominator()
                        : aggregate.weight > 0          ? aggregate.weight
                                                        : 1;
  aggregate.mean_delta.resize(ranges_.size());
  for (size_t i = 0; i < ranges_.size(); ++i) {
    std::mt19937_64 rng = NoiseStream(noise.seed, i);
    std::normal_distribution<double> normal(0.0, noise.stddev > 0 ? noise.stddev : 1.0);
    std::vector<float>& mean = aggregate.mean_delta[i];
    mean.resize(sums[i].size());
    for (size_t k = 0; k < sums[i].size(); ++k) {
      double sum = secagg::DecodeFixed(sums[i][k]);
      if (noise.stddev > 0) sum += normal(rng);
      mean[k] = static_cast<float>(sum / divisor);
    }
  }
  uploads_.erase(uploads_.begin(), uploads_.upper_bound(round));
  open_round_ = round + 1;
  return aggregate;
}

RoundUploads RoundAggregator::Export() const {
  RoundUploads state;
  state.set_open_round(open_round_);
  for (const auto& [round, by_worker] : uploads_) {
    for (const auto& [worker, upload] : by_worker) {
      RoundUpload* out = state.add_uploads();
      out->set_round(round);
      out->set_worker_id(worker);
      for (size_t i = 0; i < ranges_.size(); ++i) {
        const std::vector<uint64_t>& values = upload.values[i];
        out->add_values(reinterpret_cast<const char*>(values.data()),
                        values.size() * sizeof(uint64_t));
        std::string* written = out->add_written();
        for (bool w : upload.written[i]) written->push_back(w ? 1 : 0);
      }
      out->set_weight(upload.weight);
      out->set_has_weight(upload.has_weight);
    }
  }
  return state;
}

absl::Status RoundAggregator::Import(const RoundUploads& state) {
  for (const RoundUpload& in : state.uploads()) {
    if (in.values_size() != static_cast<int>(ranges_.size()) ||
        in.written_size() != static_cast<int>(ranges_.size())) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the upload of ", in.worker_id(), " for round ", in.round(), " has ", in.values_size(),
          " ranges; this server holds ", ranges_.size()));
    }
    for (size_t i = 0; i < ranges_.size(); ++i) {
      const size_t n = static_cast<size_t>(ranges_[i].end - ranges_[i].begin);
      const bool empty = in.values(i).empty() && in.written(i).empty();
      if (!empty && (in.values(i).size() != n * sizeof(uint64_t) || in.written(i).size() != n)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the upload of ", in.worker_id(), " for round ", in.round(), " does not fit [",
            ranges_[i].begin, ", ", ranges_[i].end, ") of ", ranges_[i].table));
      }
    }
  }
  std::map<int64_t, std::map<std::string, Upload>> uploads;
  for (const RoundUpload& in : state.uploads()) {
    Upload& upload = uploads[in.round()][in.worker_id()];
    upload.values.resize(ranges_.size());
    upload.written.resize(ranges_.size());
    for (size_t i = 0; i < ranges_.size(); ++i) {
      const std::string& values = in.values(i);
      upload.values[i].resize(values.size() / sizeof(uint64_t));
      for (size_t k = 0; k < upload.values[i].size(); ++k) {
        upload.values[i][k] = ReadUint64(values.data() + k * sizeof(uint64_t));
      }
      for (char w : in.written(i)) upload.written[i].push_back(w != 0);
    }
    upload.weight = in.weight();
    upload.has_weight = in.has_weight();
  }
  uploads_ = std::move(uploads);
  open_round_ = state.open_round();
  return absl::OkStatus();
}

int RoundAggregator::uploads() const {
  auto it = uploads_.find(open_round_);
  return it == uploads_.end() ? 0 : static_cast<int>(it->second.size());
}

}  // namespace petrel::server

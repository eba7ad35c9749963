#include "coordinator/device_placement.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace petrel::coordinator {
namespace {

bool IsAuto(const std::string& device) { return device.empty() || device == "auto"; }

std::string Plural(int n, const std::string& noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

}  // namespace

std::vector<std::string> OfferedDevices(const RegisterRequest& worker) {
  if (worker.devices_size() > 0) return {worker.devices().begin(), worker.devices().end()};
  const std::string& description = worker.device();
  // A registration that names no device at all (a hand-written or older
  // client) runs on the CPU, which every worker has.
  if (description.empty()) return {"cpu"};
  return {description.substr(0, description.find(' '))};
}

bool CanTrainOn(const std::vector<std::string>& offered, const std::string& device) {
  if (IsAuto(device)) return true;
  return std::find(offered.begin(), offered.end(), device) != offered.end();
}

std::vector<const Node*> WorkersFor(const std::string& device,
                                    const std::vector<const Node*>& workers) {
  std::vector<const Node*> able;
  for (const Node* worker : workers) {
    if (CanTrainOn(OfferedDevices(worker->info), device)) able.push_back(worker);
  }
  return able;
}

std::string DescribeOffers(const std::vector<const Node*>& workers) {
  if (workers.empty()) return "none";
  std::vector<std::pair<std::string, int>> groups;  // in order of first appearance
  for (const Node* worker : workers) {
    const std::vector<std::string> offered = OfferedDevices(worker->info);
    std::string what = absl::StrJoin(offered, "+");  // never empty: see OfferedDevices
    if (offered.size() == 1) what += " only";
    auto it = std::find_if(groups.begin(), groups.end(),
                           [&](const auto& group) { return group.first == what; });
    if (it == groups.end()) {
      groups.push_back({what, 1});
    } else {
      ++it->second;
    }
  }
  std::vector<std::string> parts;
  for (const auto& [what, count] : groups) parts.push_back(absl::StrCat(count, " with ", what));
  return absl::StrJoin(parts, ", ");
}

std::string WhyWaiting(const ClusterSpec& shape, int alive_servers,
                       const std::vector<const Node*>& alive_workers,
                       const std::vector<const Node*>& idle_workers) {
  std::vector<std::string> reasons;
  if (alive_servers < shape.servers()) {
    reasons.push_back(absl::StrCat("waiting for ", Plural(shape.servers(), "server"), "; ",
                                   alive_servers, " alive"));
  }
  const int needed = shape.workers();
  const std::string& device = shape.device();
  const int idle_able = WorkersFor(device, idle_workers).size();
  const int alive_able = WorkersFor(device, alive_workers).size();
  if (idle_able < needed) {
    if (IsAuto(device)) {
      reasons.push_back(absl::StrCat("waiting for ", Plural(needed, "idle worker"), "; ",
                                     alive_workers.size(), " alive, ", idle_workers.size(),
                                     " idle"));
    } else if (alive_able < needed) {
      reasons.push_back(absl::StrCat("waiting for ", Plural(needed, "worker"), " with ", device,
                                     "; registered: ", DescribeOffers(alive_workers)));
    } else {
      reasons.push_back(absl::StrCat("waiting for ", Plural(needed, "idle worker"), " with ",
                                     device, "; ", alive_able, " offer it, ", idle_able,
                                     " of them idle"));
    }
  }
  return absl::StrJoin(reasons, "; ");
}

}  // namespace petrel::coordinator

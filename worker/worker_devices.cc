#include "worker/worker_devices.h"

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace petrel::worker {
namespace {

// A backend's Description() starts with its device: "cpu (OpenBLAS, ...)",
// "cuda:0 (NVIDIA ...)".
std::string DeviceOf(const kernels::Backend& backend) {
  const std::string description = backend.Description();
  return description.substr(0, description.find(' '));
}

}  // namespace

WorkerDevices::WorkerDevices(std::string flag, std::string default_device,
                             std::unique_ptr<kernels::Backend> default_backend,
                             std::vector<std::string> offered, BackendFactory factory)
    : flag_(std::move(flag)),
      default_device_(std::move(default_device)),
      default_backend_(std::move(default_backend)),
      offered_(std::move(offered)),
      factory_(std::move(factory)) {}

absl::StatusOr<std::unique_ptr<WorkerDevices>> WorkerDevices::Create(const std::string& flag,
                                                                     std::string* why,
                                                                     BackendFactory factory,
                                                                     GpuCounter visible_gpus) {
  std::string sentence;
  PETREL_ASSIGN_OR_RETURN(std::unique_ptr<kernels::Backend> backend, factory(flag, &sentence));
  if (why != nullptr) *why = sentence;
  const std::string device = DeviceOf(*backend);
  std::vector<std::string> offered;
  if (flag == "auto") {
    offered.push_back("cpu");
    // auto found GPU 0 working: every GPU this process sees is offered too.
    if (absl::StartsWith(device, "cuda:")) {
      const int gpus = std::max(1, visible_gpus());
      for (int i = 0; i < gpus; ++i) offered.push_back(absl::StrCat("cuda:", i));
    }
  } else {
    offered.push_back(device);  // --device cpu or cuda:N: that one only
  }
  return std::unique_ptr<WorkerDevices>(new WorkerDevices(
      flag, device, std::move(backend), std::move(offered), std::move(factory)));
}

absl::StatusOr<std::string> WorkerDevices::Resolve(const std::string& wanted) const {
  if (wanted.empty() || wanted == "auto") {
    for (const std::string& device : offered_) {
      if (absl::StartsWith(device, "cuda:")) return device;
    }
    return offered_.front();
  }
  if (std::find(offered_.begin(), offered_.end(), wanted) != offered_.end()) return wanted;
  return absl::FailedPreconditionError(absl::StrCat(
      "the job's cluster.device is \"", wanted, "\" but this worker offers only ",
      absl::StrJoin(offered_, ", "), " (petrel-worker --device ", flag_,
      "); it was not trained on another device"));
}

absl::StatusOr<kernels::Backend*> WorkerDevices::BackendFor(const std::string& wanted) {
  PETREL_ASSIGN_OR_RETURN(const std::string device, Resolve(wanted));
  if (device == default_device_) return default_backend_.get();
  absl::MutexLock lock(&mu_);
  auto it = others_.find(device);
  if (it == others_.end()) {
    std::string why;
    absl::StatusOr<std::unique_ptr<kernels::Backend>> created = factory_(device, &why);
    if (!created.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the job's cluster.device \"", wanted, "\" is offered here but could not be set up: ",
          created.status().message()));
    }
    it = others_.emplace(device, std::move(*created)).first;
  }
  return it->second.get();
}

}  // namespace petrel::worker

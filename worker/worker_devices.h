// Which devices a worker trains on. Its --device caps what it offers the
// coordinator (RegisterRequest.devices); each job's cluster.device then picks
// one of those (docs/gpu.md):
//
//   --device   offers                                   a job's "auto" runs on
//   auto       cpu, plus cuda:0..N-1 when GPU 0 works   cuda:0 when offered, else cpu
//   cpu        cpu                                      cpu
//   cuda:N     cuda:N                                   cuda:N
//
// A job asking for a device this worker does not offer is refused with
// FAILED_PRECONDITION naming both, never trained on another device.
#ifndef PETREL_WORKER_WORKER_DEVICES_H_
#define PETREL_WORKER_WORKER_DEVICES_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "kernels/backend.h"

namespace petrel::worker {

class WorkerDevices {
 public:
  // kernels::CreateBackend and kernels::VisibleCudaDevices, or a test's fakes.
  using BackendFactory = std::function<absl::StatusOr<std::unique_ptr<kernels::Backend>>(
      const std::string& device, std::string* why)>;
  using GpuCounter = std::function<int()>;

  // Creates the backend `flag` (--device) names, failing as CreateBackend
  // does (e.g. cuda:N without a usable GPU N), and works out what this
  // worker offers. `why` receives CreateBackend's sentence for the log.
  static absl::StatusOr<std::unique_ptr<WorkerDevices>> Create(
      const std::string& flag, std::string* why = nullptr,
      BackendFactory factory = kernels::CreateBackend,
      GpuCounter visible_gpus = kernels::VisibleCudaDevices);

  // "cpu", "cuda:0", ...: what the registration advertises.
  const std::vector<std::string>& offered() const { return offered_; }
  // What --device chose (auto's pick): the registration's and /status's
  // `device`.
  const kernels::Backend& default_backend() const { return *default_backend_; }

  // The device a job whose cluster.device is `wanted` trains on here, or
  // FAILED_PRECONDITION saying why this worker cannot train it.
  absl::StatusOr<std::string> Resolve(const std::string& wanted) const;
  // The backend for Resolve(wanted): the default one, or one created on
  // first use and kept for the next job.
  absl::StatusOr<kernels::Backend*> BackendFor(const std::string& wanted);

 private:
  WorkerDevices(std::string flag, std::string default_device,
                std::unique_ptr<kernels::Backend> default_backend,
                std::vector<std::string> offered, BackendFactory factory);

  const std::string flag_;
  const std::string default_device_;  // "cpu" or "cuda:N"
  const std::unique_ptr<kernels::Backend> default_backend_;
  const std::vector<std::string> offered_;
  const BackendFactory factory_;
  absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<kernels::Backend>> others_ ABSL_GUARDED_BY(mu_);
};

}  // namespace petrel::worker

#endif  // PETREL_WORKER_WORKER_DEVICES_H_

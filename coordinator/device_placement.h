// Which workers can train a job, by its cluster.device (docs/gpu.md): a job
// asking for "cpu" or "cuda:N" goes only to workers that offer that device
// when they register (RegisterRequest.devices, capped by petrel-worker
// --device); "auto" goes to any worker, which picks its GPU if it offers one.
// Pure functions on the registrations.
#ifndef PETREL_COORDINATOR_DEVICE_PLACEMENT_H_
#define PETREL_COORDINATOR_DEVICE_PLACEMENT_H_

#include <string>
#include <vector>

#include "coordinator/membership.h"
#include "proto/coordinator.pb.h"
#include "proto/job.pb.h"

namespace petrel::coordinator {

// What a worker offers: its registration's devices, or for a worker from
// before that field the device its description starts with ("cpu (OpenBLAS,
// ...)" offers "cpu"), which is the only one it would train on; one that
// names no device at all offers "cpu".
std::vector<std::string> OfferedDevices(const RegisterRequest& worker);

// Whether a worker offering `offered` may train a job whose cluster.device is
// `device` ("" counts as "auto").
bool CanTrainOn(const std::vector<std::string>& offered, const std::string& device);

// Those of `workers` that can train on `device`, in the same order.
std::vector<const Node*> WorkersFor(const std::string& device,
                                    const std::vector<const Node*>& workers);

// The workers grouped by what they offer, e.g. "2 with cpu only, 1 with
// cpu+cuda:0" ("none" for no workers).
std::string DescribeOffers(const std::vector<const Node*>& workers);

// Why a job of `shape` cannot start with `alive_servers` servers, the
// `alive_workers`, and the `idle_workers` among them, e.g. "waiting for 2
// workers with cuda:0; registered: 2 with cpu only"; "" when it can start.
std::string WhyWaiting(const ClusterSpec& shape, int alive_servers,
                       const std::vector<const Node*>& alive_workers,
                       const std::vector<const Node*>& idle_workers);

}  // namespace petrel::coordinator

#endif  // PETREL_COORDINATOR_DEVICE_PLACEMENT_H_

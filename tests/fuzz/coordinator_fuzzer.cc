// Fuzzes the coordinator's request handling (coordinator/coordinator_service.h)
// with a fresh CoordinatorService per input. The input is records
// (fuzz_util.h's RecordReader) whose bytes are parsed as the request protos,
// as gRPC parses them; kind % 13 picks the call: RegisterServer,
// RegisterWorker, Heartbeat, SubmitJob, GetJob, ListJobs, CancelJob,
// GetShardMap, ReportProgress, GetClusterStatus, Tick, the /status JSON, or
// FederatedRound (federated rounds' closes go to a fake, not the network).
//
// Invariants: every refusal has a canonical code other than OK, UNKNOWN or
// INTERNAL (those would mean a bug, not a bad request); a submitted job
// can be read back with GetJob and GetShardMap does not crash on it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "coordinator/coordinator_service.h"
#include "coordinator/fake_round_closer.h"
#include "proto/coordinator.pb.h"
#include "spdlog/spdlog.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

template <typename Request>
bool Parse(absl::string_view bytes, Request* request) {
  return request->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

void CheckRefusal(const absl::Status& status) {
  PETREL_FUZZ_CHECK(status.code() != absl::StatusCode::kUnknown);
  PETREL_FUZZ_CHECK(status.code() != absl::StatusCode::kInternal);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace petrel;
  coordinator::CoordinatorService::Options options;
  // No node falls silent within one input: Tick never probes one over the
  // network (slow, and not what this target is about).
  options.heartbeat_timeout = absl::Hours(1);
  options.round_closer = std::make_shared<coordinator::FakeRoundCloser>();
  coordinator::CoordinatorService service(options);
  std::vector<std::string> job_ids;
  fuzz::RecordReader records(data, size);
  uint8_t kind;
  absl::string_view bytes;
  while (records.Next(&kind, &bytes)) {
    absl::Status status;
    switch (kind % 13) {
      case 0:
      case 1: {
        RegisterRequest request;
        RegisterResponse response;
        if (!Parse(bytes, &request)) continue;
        status = kind % 12 == 0 ? service.RegisterServer(request, &response)
                                : service.RegisterWorker(request, &response);
        break;
      }
      case 2: {
        HeartbeatRequest request;
        HeartbeatResponse response;
        if (!Parse(bytes, &request)) continue;
        status = service.Heartbeat(request, &response);
        break;
      }
      case 3: {
        SubmitJobRequest request;
        SubmitJobResponse response;
        if (!Parse(bytes, &request)) continue;
        status = service.SubmitJob(request, &response);
        if (status.ok()) {
          job_ids.push_back(response.job_id());
          GetJobRequest get;
          get.set_job_id(response.job_id());
          JobStatus job;
          PETREL_FUZZ_CHECK(service.GetJob(get, &job).ok());
          GetShardMapRequest get_map;
          get_map.set_job_id(response.job_id());
          ShardMap map;
          CheckRefusal(service.GetShardMap(get_map, &map));
        }
        break;
      }
      case 4: {
        GetJobRequest request;
        JobStatus response;
        if (!Parse(bytes, &request)) continue;
        // An empty id asks for the latest job submitted, when there is one.
        if (request.job_id().empty() && !job_ids.empty()) request.set_job_id(job_ids.back());
        status = service.GetJob(request, &response);
        break;
      }
      case 5: {
        ListJobsResponse response;
        status = service.ListJobs(ListJobsRequest(), &response);
        PETREL_FUZZ_CHECK(status.ok());
        break;
      }
      case 6: {
        CancelJobRequest request;
        JobStatus response;
        if (!Parse(bytes, &request)) continue;
        if (request.job_id().empty() && !job_ids.empty()) request.set_job_id(job_ids.back());
        status = service.CancelJob(request, &response);
        break;
      }
      case 7: {
        GetShardMapRequest request;
        ShardMap response;
        if (!Parse(bytes, &request)) continue;
        if (request.job_id().empty() && !job_ids.empty()) request.set_job_id(job_ids.back());
        status = service.GetShardMap(request, &response);
        break;
      }
      case 8: {
        ReportProgressRequest request;
        ReportProgressResponse response;
        if (!Parse(bytes, &request)) continue;
        if (request.job_id().empty() && !job_ids.empty()) request.set_job_id(job_ids.back());
        status = service.ReportProgress(request, &response);
        break;
      }
      case 9: {
        ClusterStatus response;
        status = service.GetClusterStatus(GetClusterStatusRequest(), &response);
        PETREL_FUZZ_CHECK(status.ok());
        break;
      }
      case 10:
        service.Tick();
        break;
      case 11:
        (void)service.StatusJson().dump();
        break;
      case 12: {
        RoundRequest request;
        RoundInfo response;
        if (!Parse(bytes, &request)) continue;
        if (request.job_id().empty() && !job_ids.empty()) request.set_job_id(job_ids.back());
        status = service.FederatedRound(request, &response);
        break;
      }
    }
    if (!status.ok()) CheckRefusal(status);
  }
  return 0;
}

#include "tools/cli/commands.h"

#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "common/jobspec/partition.h"
#include "client/coordinator_client.h"
#include "common/jobspec/job_file.h"
#include "common/rpc/tls_certs.h"
#include "google/protobuf/util/json_util.h"
#include "tools/cli/job_watch.h"
#include "tools/cli/local_cluster.h"
#include "tools/cli/model_export.h"
#include "tools/cli/server_traffic.h"
#include "tools/cli/text_to_libsvm.h"

namespace petrel::cli {
namespace {

std::atomic<int> g_signal{0};
void RecordSignal(int signal_number) { g_signal = signal_number; }

int Fail(const std::string& message) {
  std::fprintf(stderr, "petrel: %s\n", message.c_str());
  return 1;
}

int Fail(const absl::Status& status) { return Fail(std::string(status.message())); }

// Reads, overrides and checks a job file; the error names the file, line and field.
// The daemons may run elsewhere (or in another directory): a data path is
// sent absolute. "~/" is the home directory; a relative path is relative to
// the job file.
std::string ResolveDataPath(const std::string& data_path, const std::string& job_path) {
  if (data_path.rfind("~/", 0) == 0) {
    const char* home = getenv("HOME");
    return absl::StrCat(home != nullptr ? home : "", data_path.substr(1));
  }
  if (data_path.empty() || data_path[0] == '/') return data_path;
  std::filesystem::path base = std::filesystem::absolute(job_path).parent_path();
  return (base / data_path).lexically_normal().string();
}

absl::StatusOr<JobSpec> LoadJob(const std::string& path, int servers, int workers,
                                const std::string& device) {
  auto spec = ParseJobFile(path);
  if (!spec.ok()) return spec.status();
  spec->mutable_data()->set_path(ResolveDataPath(spec->data().path(), path));
  ApplyClusterOverrides(&*spec, servers, workers);
  if (!device.empty()) spec->mutable_cluster()->set_device(device);
  if (absl::Status valid = ValidateJobSpec(*spec); !valid.ok()) return valid;
  if (absl::Status data = CheckDataFiles(*spec); !data.ok()) return data;
  return spec;
}

// Reads the finished job's parameters off the servers (while they still
// run): returns their SHA-256 and writes the model file when asked to.
absl::StatusOr<std::string> FinishModel(CoordinatorClient* coordinator, ChannelFactory& channels,
                                        const std::string& job_id,
                                        const std::string& model_path) {
  auto map = coordinator->GetShardMap(job_id);
  if (!map.ok()) return map.status();
  auto tables = FetchParameters(*map, channels);
  if (!tables.ok()) return tables.status();
  if (!model_path.empty()) {
    auto sparse = FetchSparseTables(*map, channels);
    if (!sparse.ok()) return sparse.status();
    if (absl::Status written = WriteSafetensors(model_path, *map, *tables, *sparse);
        !written.ok()) {
      return written;
    }
    std::fprintf(stderr, "petrel local: wrote the model to %s\n", model_path.c_str());
  }
  return ParamsSha256(*map, *tables);
}

std::string Consistency(int staleness) {
  if (staleness < 0) return "async";
  return staleness == 0 ? "BSP" : absl::StrFormat("SSP(%d)", staleness);
}

google::protobuf::util::JsonPrintOptions JsonOptions() {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  return options;
}

// For scripts: the message as JSON, with the proto's field names.
int PrintJson(const google::protobuf::Message& message) {
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(message, &json, JsonOptions()).ok()) {
    return Fail("cannot render the answer as JSON");
  }
  std::printf("%s\n", json.c_str());
  return 0;
}

void PrintJob(const JobStatus& job) {
  std::printf("%s  %s  %s\n", job.job_id().c_str(), job.name().c_str(),
              JobState_Name(job.state()).c_str());
  if (job.state() == RUNNING || job.state() == SUCCEEDED) {
    std::printf("  %s\n", ProgressLine(job).c_str());
    for (const std::string& line : {EnsembleLine(job), FederatedLine(job)}) {
      if (!line.empty()) std::printf("  %s\n", line.c_str());
    }
    for (const WorkerProgress& w : job.workers()) {
      std::printf("  %-10s rank %d  epoch %d  step %ld  clock %ld  loss %.4f  %.0f samples/s%s\n",
                  w.worker_id().c_str(), w.rank(), w.epoch(), static_cast<long>(w.step()),
                  static_cast<long>(w.clock()), w.train_loss(), w.samples_per_second(),
                  w.finished_training() ? "  (finished)" : "");
    }
  }
  if (job.state() == RUNNING && job.spec().mode() != "federated") {
    std::printf("  consistency %s: min clock %ld, largest staleness observed %ld, %ld pulls waited\n",
                Consistency(job.spec().training().staleness()).c_str(),
                static_cast<long>(job.min_clock()), static_cast<long>(job.max_observed_staleness()),
                static_cast<long>(job.pulls_waited()));
  }
  if (job.late_workers_size() > 0) {
    std::printf("  STALLED: a pull has waited %.1f s (stall timeout %.0f s) for:\n",
                job.stalled_seconds(), job.spec().training().stall_timeout_seconds());
    for (const LateWorker& w : job.late_workers()) {
      std::printf("    %-10s on %s, clock %ld, last heartbeat %.1f s ago\n", w.worker_id().c_str(),
                  w.host().c_str(), static_cast<long>(w.clock()), w.seconds_since_heartbeat());
    }
  }
  if (job.groups_size() > 0 && job.state() == RUNNING) {
    std::printf("  shard map epoch %ld:", static_cast<long>(job.shard_map_epoch()));
    for (const ShardGroup& group : job.groups()) {
      std::printf("  group %d [%s]", group.id(), DescribeChain(group).c_str());
    }
    std::printf("\n");
  }
  if (job.attempt() > 0) {
    std::printf("  restarted %d time(s) from a checkpoint; last: %s\n", job.attempt(),
                job.last_restart().c_str());
  }
  if (!job.error().empty()) std::printf("  error: %s\n", job.error().c_str());
}

}  // namespace

int RunLocal(const LocalOptions& options) {
  const absl::Time start = absl::Now();
  auto spec = LoadJob(options.job_path, options.servers, options.workers, options.device);
  if (!spec.ok()) return Fail(spec.status());

  signal(SIGINT, RecordSignal);
  signal(SIGTERM, RecordSignal);
  signal(SIGHUP, RecordSignal);
  LocalCluster::Options cluster_options;
  cluster_options.servers = spec->cluster().servers();
  cluster_options.workers = spec->cluster().workers();
  cluster_options.device = spec->cluster().device();
  cluster_options.bin_dir = options.bin_dir;
  cluster_options.transport = options.transport;
  cluster_options.heartbeat_timeout_seconds = options.heartbeat_timeout_seconds;
  std::fprintf(stderr, "petrel local: starting a coordinator, %d servers and %d workers\n",
               cluster_options.servers, cluster_options.workers);
  auto cluster = LocalCluster::Start(cluster_options);
  if (!cluster.ok()) return Fail(cluster.status());

  auto coordinator = NewGrpcCoordinatorClient((*cluster)->channels(), (*cluster)->coordinator_address());
  SubmitJobRequest request;
  *request.mutable_spec() = *spec;
  auto submitted = coordinator->SubmitJob(request);
  if (!submitted.ok()) return Fail(submitted.status());
  std::fprintf(stderr, "petrel local: job %s submitted; logs in %s; dashboard at http://127.0.0.1:%d/\n",
               submitted->job_id().c_str(), (*cluster)->log_dir().c_str(),
               (*cluster)->children().front().ports.http_port);
  std::fprintf(stderr, "petrel local: %s\n", (*cluster)->ConnectHint().c_str());

  WatchOptions watch;
  watch.interrupted = [&]() -> std::optional<std::string> {
    if (int s = g_signal.load()) return absl::StrFormat("interrupted by signal %d; stopping", s);
    return (*cluster)->CheckForDeadChild();
  };
  auto job = WatchJob(coordinator.get(), submitted->job_id(), watch);
  const double wall_seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::optional<std::string> params_sha256;
  std::optional<ServerTraffic> traffic;
  if (job.ok() && job->state() == SUCCEEDED) {
    auto sha = FinishModel(coordinator.get(), (*cluster)->channels(), job->job_id(),
                           spec->output().model_path());
    if (!sha.ok()) return Fail(sha.status());
    params_sha256 = *sha;
    std::vector<int> server_ports;
    for (const ChildProcess& child : (*cluster)->children()) {
      if (absl::StartsWith(child.name, "server-")) server_ports.push_back(child.ports.http_port);
    }
    auto fetched = FetchServerTraffic(server_ports, job->job_id());
    if (fetched.ok()) {
      traffic = *fetched;
    } else {
      std::fprintf(stderr, "petrel local: no traffic figures: %s\n",
                   std::string(fetched.status().message()).c_str());
    }
  }
  (*cluster)->Stop();
  if (!job.ok()) return Fail(job.status());

  std::printf("\njob %s (%s): %s\n", job->job_id().c_str(), job->name().c_str(),
              JobState_Name(job->state()).c_str());
  if (!job->error().empty()) std::printf("  error:            %s\n", job->error().c_str());
  nlohmann::json summary = SummaryJson(*job, wall_seconds);
  if (params_sha256) summary["params_sha256"] = *params_sha256;
  if (traffic) {
    summary["pushed_bytes"] = traffic->bytes_in;
    summary["pulled_bytes"] = traffic->bytes_out;
  }
  if (job->has_test_accuracy()) std::printf("  test accuracy:    %.4f\n", job->test_accuracy());
  for (const std::string& line : {EnsembleLine(*job), FederatedLine(*job)}) {
    if (!line.empty()) std::printf("  %s\n", line.c_str());
  }
  std::printf("  train loss:       %.4f\n", job->train_loss());
  // A federated job's steps are rounds, not batches: no throughput to show.
  if (spec->mode() != "federated") {
    std::printf("  samples/s:        %.0f\n", summary["samples_per_second"].get<double>());
  }
  if (auto t = SecondsToAccuracy(*job, 0.87)) std::printf("  time to 0.87:     %.1f s\n", *t);
  std::printf("  training time:    %.1f s (wall %.1f s)\n",
              summary["training_seconds"].get<double>(), wall_seconds);
  std::printf("  cluster:          %d servers, %d workers\n", spec->cluster().servers(),
              spec->cluster().workers());
  if (spec->mode() != "federated") {
    std::printf("  consistency:      %s; largest staleness observed %ld; %.0f%% of worker time waiting for values (pulls, push-pulls)\n",
                Consistency(spec->training().staleness()).c_str(),
                static_cast<long>(job->max_observed_staleness()),
                100 * summary["pull_wait_fraction"].get<double>());
  }
  if (traffic) {
    std::printf("  traffic:          %.1f MB of gradients pushed (%s), %.1f MB of values pulled\n",
                traffic->bytes_in / 1e6,
                spec->compression().type().empty() ? "none" : spec->compression().type().c_str(),
                traffic->bytes_out / 1e6);
  }
  if (params_sha256) std::printf("  params sha256:    %s\n", params_sha256->c_str());
  std::printf("  dashboard:        http://127.0.0.1:%d/ (live while the cluster ran)\n",
              (*cluster)->children().front().ports.http_port);
  std::printf("  daemons (status URLs were live while the cluster ran):\n");
  for (const ChildProcess& child : (*cluster)->children()) {
    std::printf("    %-12s http://127.0.0.1:%d/status   log %s\n", child.name.c_str(),
                child.ports.http_port, child.log_path.c_str());
  }
  if (!options.summary_json.empty()) {
    std::ofstream out(options.summary_json);
    out << summary.dump(2) << "\n";
    if (!out.good()) return Fail("cannot write " + options.summary_json);
  }
  return job->state() == SUCCEEDED ? 0 : 1;
}

int Export(const std::string& coordinator_address, const std::string& job_id,
           const std::string& out_path, ChannelFactory& channels) {
  if (out_path.empty()) return Fail("petrel export: --out PATH is required");
  auto coordinator = NewGrpcCoordinatorClient(channels, coordinator_address);
  auto map = coordinator->GetShardMap(job_id);
  if (!map.ok()) return Fail(map.status());
  auto tables = FetchParameters(*map, channels);
  if (!tables.ok()) return Fail(tables.status());
  auto sparse = FetchSparseTables(*map, channels);
  if (!sparse.ok()) return Fail(sparse.status());
  if (absl::Status written = WriteSafetensors(out_path, *map, *tables, *sparse); !written.ok()) {
    return Fail(written);
  }
  int64_t floats = 0;
  for (const auto& table : *tables) floats += table.size();
  std::printf("wrote %d tables (%ld float32) of %s to %s\nparams sha256: %s\n", map->tables_size(),
              static_cast<long>(floats), job_id.c_str(), out_path.c_str(),
              ParamsSha256(*map, *tables).c_str());
  for (int i = 0; i < map->sparse_tables_size(); ++i) {
    std::printf("sparse table %s: %zu rows of dim %d (%s.keys, %s.rows)\n",
                map->sparse_tables(i).name().c_str(), (*sparse)[i].keys.size(), (*sparse)[i].dim,
                map->sparse_tables(i).name().c_str(), map->sparse_tables(i).name().c_str());
  }
  return 0;
}

int Submit(const std::string& job_path, const std::string& coordinator_address,
           ChannelFactory& channels) {
  auto spec = LoadJob(job_path, 0, 0, "");
  if (!spec.ok()) return Fail(spec.status());
  auto coordinator = NewGrpcCoordinatorClient(channels, coordinator_address);
  SubmitJobRequest request;
  *request.mutable_spec() = *spec;
  auto submitted = coordinator->SubmitJob(request);
  if (!submitted.ok()) return Fail(submitted.status());
  std::printf("%s\n", submitted->job_id().c_str());
  return 0;
}

int Status(const std::string& coordinator_address, const std::string& job_id, bool json,
           ChannelFactory& channels) {
  auto coordinator = NewGrpcCoordinatorClient(channels, coordinator_address);
  if (!job_id.empty()) {
    auto job = coordinator->GetJob(job_id);
    if (!job.ok()) return Fail(job.status());
    if (json) return PrintJson(*job);
    PrintJob(*job);
    return 0;
  }
  auto cluster = coordinator->GetClusterStatus();
  if (!cluster.ok()) return Fail(cluster.status());
  if (json) {
    auto jobs = coordinator->ListJobs();
    if (!jobs.ok()) return Fail(jobs.status());
    // One object: {"nodes": [...], "jobs": [...]}, the proto field names.
    std::string nodes, list;
    google::protobuf::util::MessageToJsonString(*cluster, &nodes, JsonOptions());
    google::protobuf::util::MessageToJsonString(*jobs, &list, JsonOptions());
    std::printf("{\"cluster\": %s, \"jobs\": %s}\n", nodes.c_str(), list.c_str());
    return 0;
  }
  std::printf("%-11s %-7s %-6s %-22s %-30s %s\n", "NODE", "ROLE", "ALIVE", "ADDRESS", "STATUS",
              "DEVICE");
  for (const NodeStatus& node : cluster->nodes()) {
    std::printf("%-11s %-7s %-6s %-22s http://%-23s %s\n", node.node_id().c_str(),
                NodeRole_Name(node.role()).c_str(), node.alive() ? "yes" : "NO",
                node.grpc_address().c_str(), (node.http_address() + "/status").c_str(),
                node.device().c_str());
  }
  auto jobs = coordinator->ListJobs();
  if (!jobs.ok()) return Fail(jobs.status());
  for (const JobStatus& job : jobs->jobs()) {
    std::printf("\n");
    PrintJob(job);
  }
  return 0;
}

int Jobs(const std::string& coordinator_address, bool json, ChannelFactory& channels) {
  auto coordinator = NewGrpcCoordinatorClient(channels, coordinator_address);
  auto jobs = coordinator->ListJobs();
  if (!jobs.ok()) return Fail(jobs.status());
  if (json) return PrintJson(*jobs);
  std::printf("%-8s %-24s %-10s %-6s %-8s %s\n", "JOB", "NAME", "STATE", "EPOCH", "TEST_ACC",
              "ERROR");
  for (const JobStatus& job : jobs->jobs()) {
    std::string accuracy = job.has_test_accuracy() ? absl::StrFormat("%.4f", job.test_accuracy()) : "-";
    std::printf("%-8s %-24s %-10s %-6d %-8s %s\n", job.job_id().c_str(), job.name().c_str(),
                JobState_Name(job.state()).c_str(), job.epoch(), accuracy.c_str(),
                job.error().c_str());
  }
  return 0;
}

int Cancel(const std::string& coordinator_address, const std::string& job_id,
           ChannelFactory& channels) {
  auto coordinator = NewGrpcCoordinatorClient(channels, coordinator_address);
  auto job = coordinator->CancelJob(job_id);
  if (!job.ok()) return Fail(job.status());
  std::printf("%s %s\n", job->job_id().c_str(), JobState_Name(job->state()).c_str());
  return 0;
}

int CertsInit(const std::string& dir, const std::vector<std::string>& hosts) {
  if (absl::Status written = WriteClusterCertificates(dir, hosts); !written.ok()) {
    return Fail(written);
  }
  std::printf(
      "wrote a CA and certificates for the coordinator, servers, workers and clients to %s\n"
      "  copy the directory without ca-key.pem to every host; start each daemon with\n"
      "  --tls_dir %s [--mtls] [--token_file FILE], and the CLI with --tls_dir %s\n",
      dir.c_str(), dir.c_str(), dir.c_str());
  return 0;
}

int Data(const std::string& subcommand, const DataOptions& options) {
  if (subcommand != "text2libsvm") {
    return Fail(absl::StrFormat("unknown data command \"%s\" (want text2libsvm)", subcommand));
  }
  if (options.input_dir.empty() || options.output_dir.empty()) {
    return Fail("data text2libsvm: --input and --output are required");
  }
  auto labels = ParseLabelSpecs(options.labels);
  if (!labels.ok()) return Fail(labels.status());
  TextToLibsvmOptions convert;
  convert.input_dir = options.input_dir;
  convert.output_dir = options.output_dir;
  convert.labels = *labels;
  convert.suffix = options.suffix;
  convert.hash_bits = options.hash_bits;
  convert.test_fraction = options.test_fraction;
  convert.seed = options.seed;
  auto counts = TextToLibsvm(convert);
  if (!counts.ok()) return Fail(counts.status());
  auto by_label = [](const std::map<int32_t, int64_t>& counts) {
    std::string text;
    for (const auto& [label, count] : counts) {
      absl::StrAppend(&text, text.empty() ? "" : ", ", "label ", label, ": ", count);
    }
    return text.empty() ? std::string("none") : text;
  };
  std::printf("wrote %s/train.libsvm: %ld examples (%s)\n", options.output_dir.c_str(),
              static_cast<long>(counts->train), by_label(counts->train_by_label).c_str());
  std::printf("wrote %s/test.libsvm: %ld examples (%s)\n", options.output_dir.c_str(),
              static_cast<long>(counts->test), by_label(counts->test_by_label).c_str());
  std::printf("2^%d hashed features, 0-based; %ld files skipped (unlabelled or another suffix)\n",
              options.hash_bits, static_cast<long>(counts->skipped));
  return 0;
}

}  // namespace petrel::cli

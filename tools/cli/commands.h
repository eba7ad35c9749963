// The petrel subcommands. Each returns the process exit code and prints its
// own errors; main.cc only parses flags.
#ifndef PETREL_TOOLS_CLI_COMMANDS_H_
#define PETREL_TOOLS_CLI_COMMANDS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "common/rpc/channel_factory.h"
#include "tools/cli/local_cluster.h"

namespace petrel::cli {

struct LocalOptions {
  std::string job_path;
  int servers = 0;           // 0: the job file's cluster.servers
  int workers = 0;           // 0: the job file's cluster.workers
  std::string device;        // empty: the job file's cluster.device
  std::string summary_json;  // where to write the summary, if anywhere
  std::string bin_dir;
  LocalTransport transport = LocalTransport::kUnixSockets;
  double heartbeat_timeout_seconds = 0;  // 0: the coordinator's default
};

int RunLocal(const LocalOptions& options);
// The commands below reach the coordinator at `coordinator` over channels
// from `channels` (main()'s, secured by --tls_dir and --token_file).
int Submit(const std::string& job_path, const std::string& coordinator, ChannelFactory& channels);
// `json`: one JSON document for scripts instead of tables.
int Status(const std::string& coordinator, const std::string& job_id, bool json,
           ChannelFactory& channels);
int Jobs(const std::string& coordinator, bool json, ChannelFactory& channels);
int Cancel(const std::string& coordinator, const std::string& job_id, ChannelFactory& channels);
// Writes the job's parameters to `out_path` as safetensors, read over
// channels from `channels`.
int Export(const std::string& coordinator, const std::string& job_id, const std::string& out_path,
           ChannelFactory& channels);

// `petrel data text2libsvm`: see text_to_libsvm.h.
struct DataOptions {
  std::string input_dir;
  std::string output_dir;
  std::vector<std::string> labels;  // "NAME=LABEL" specs, each maybe a comma list
  std::string suffix;
  int hash_bits = 20;
  double test_fraction = 0.2;
  uint64_t seed = 1;
};

int Data(const std::string& subcommand, const DataOptions& options);

// `petrel certs init DIR`: see common/tls_certs.h.
int CertsInit(const std::string& dir, const std::vector<std::string>& hosts);

}  // namespace petrel::cli

#endif  // PETREL_TOOLS_CLI_COMMANDS_H_

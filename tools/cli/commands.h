// The petrel subcommands. Each returns the process exit code and prints its
// own errors; main.cc only parses flags.
#ifndef PETREL_TOOLS_CLI_COMMANDS_H_
#define PETREL_TOOLS_CLI_COMMANDS_H_

#include <string>

namespace petrel::cli {

struct LocalOptions {
  std::string job_path;
  int servers = 0;           // 0: the job file's cluster.servers
  int workers = 0;           // 0: the job file's cluster.workers
  std::string device;        // empty: the job file's cluster.device
  std::string summary_json;  // where to write the summary, if anywhere
  std::string bin_dir;
};

int RunLocal(const LocalOptions& options);
int Submit(const std::string& job_path, const std::string& coordinator);
int Status(const std::string& coordinator, const std::string& job_id);
int Jobs(const std::string& coordinator);
int Cancel(const std::string& coordinator, const std::string& job_id);

}  // namespace petrel::cli

#endif  // PETREL_TOOLS_CLI_COMMANDS_H_

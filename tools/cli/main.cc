// petrel: the command-line interface. `petrel local JOB.yaml` runs a whole
// cluster on this machine; the other commands talk to a running coordinator.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/flags/parse.h"
#include "common/rpc/auth.h"
#include "common/rpc/rpc.h"
#include "tools/cli/commands.h"

ABSL_FLAG(std::string, coordinator, "127.0.0.1:7070", "host:port of the coordinator (unix:PATH for a local cluster's socket)");
ABSL_FLAG(int, servers, 0, "local: number of servers (overrides cluster.servers)");
ABSL_FLAG(int, workers, 0, "local: number of workers (overrides cluster.workers)");
ABSL_FLAG(std::string, device, "", "local: worker device auto|cpu|cuda:N (overrides cluster.device)");
ABSL_FLAG(std::string, summary_json, "", "local: write the run's summary here as JSON");
ABSL_FLAG(bool, json, false, "status, jobs: print JSON for scripts instead of tables");
ABSL_FLAG(std::string, bin_dir, "", "local: directory holding the petrel-* daemons");
ABSL_FLAG(double, heartbeat_timeout_seconds, 0,
          "local: a node silent this long is probed and, if it does not answer, dead "
          "(0: the coordinator's default of 1 s)");
ABSL_FLAG(std::string, input, "", "data: folder with one subdirectory per label group");
ABSL_FLAG(std::string, output, "", "data: folder to write train.libsvm and test.libsvm to");
ABSL_FLAG(std::vector<std::string>, labels, {}, "data: SUBDIR=LABEL,... (repeatable)");
ABSL_FLAG(std::string, suffix, "", "data: only files whose name ends with this");
ABSL_FLAG(int, hash_bits, 20, "data: hash tokens into 2^N buckets");
ABSL_FLAG(double, test_fraction, 0.2, "data: fraction of files put in the test set");
ABSL_FLAG(uint64_t, seed, 1, "data: seed of the train/test split");
ABSL_FLAG(std::string, out, "", "export: the safetensors file to write");
ABSL_FLAG(std::string, tls_dir, "",
          "TLS: directory with ca.pem (and client.pem/client-key.pem for --mtls clusters)");
ABSL_FLAG(std::string, token_file, "",
          "file holding the cluster token (default: $PETREL_CLUSTER_TOKEN); needs --tls_dir");
ABSL_FLAG(std::vector<std::string>, hosts, {},
          "certs init: host names and IP addresses the certificates are valid for");
ABSL_FLAG(std::string, transport, "unix",
          "local: how the daemons talk gRPC: unix (Unix sockets in the run's folder and a random "
          "token, the default), tls (TCP on 127.0.0.1, mutual TLS and the token, as a real "
          "cluster runs) or plaintext (TCP, neither)");
ABSL_FLAG(bool, plaintext, false, "local: the same as --transport plaintext");

namespace {

constexpr char kUsage[] = R"(usage: petrel COMMAND [ARGS] [FLAGS]

commands:
  local JOB.yaml   run a whole cluster on this machine, train the job, print a summary
  submit JOB.yaml  submit a job to a running cluster; prints its id
  status [JOB]     the cluster's nodes and jobs, or one job in detail
  jobs             every job with its state
  cancel JOB       cancel a queued or running job
  export JOB       write a job's parameters as a safetensors file
  data text2libsvm turn a folder of text files into hashed libsvm train/test files
  certs init DIR   create a CA and certificates for a cluster (TLS, docs/security.md)

`petrel COMMAND --help` shows the command's flags.
)";

struct Command {
  const char* name;
  const char* usage;
  int positional;  // required positional arguments
};

constexpr Command kCommands[] = {
    {"local", R"(usage: petrel local JOB.yaml [--servers N] [--workers M] [--device D]
                    [--summary-json PATH] [--bin-dir DIR]
                    [--transport unix|tls|plaintext]

Starts petrel-coordinator, N petrel-server and M petrel-worker processes on
this machine, submits JOB.yaml, shows live progress and prints a summary with
every daemon's status URL and log. Stops every daemon at the end, on Ctrl-C,
or when one of them dies. Flags override the job file's `cluster` section.

gRPC runs over Unix sockets in RUN_DIR/sockets (mode 0700: only you can
connect) with a random cluster token, in RUN_DIR/token (mode 0600), checked on
every call, so
  petrel status --coordinator unix:RUN_DIR/sockets/coordinator.sock --token_file RUN_DIR/token
reaches the cluster while it runs. --transport tls runs TCP on 127.0.0.1 with
mutual TLS and the token instead (throwaway certificates in RUN_DIR/tls), as a
real cluster does; --transport plaintext (or --plaintext) uses neither.
HTTP status pages are on 127.0.0.1 in every case.
)", 1},
    {"certs", R"(usage: petrel certs init DIR [--hosts HOST,...]

Creates DIR (mode 0700) with a new CA and a certificate per role, for
--tls_dir: ca.pem, ca-key.pem (the CA's key: keep it off the nodes), and
coordinator.pem, server.pem, worker.pem, client.pem, each with its -key.pem.
The certificates are valid for the --hosts given (names or IP addresses)
plus localhost, 127.0.0.1 and ::1. Give every name a daemon is dialled by
(--advertise_host, the coordinator's address). See docs/security.md.
)", 2},
    {"submit", "usage: petrel submit JOB.yaml [--coordinator HOST:PORT]\n\nValidates JOB.yaml, submits it and prints the job id.\n", 1},
    {"status", "usage: petrel status [JOB] [--coordinator HOST:PORT] [--json]\n\nWithout JOB: every node and job. With JOB: that job's progress per worker.\n--json prints one JSON document instead.\n", 0},
    {"jobs", "usage: petrel jobs [--coordinator HOST:PORT] [--json]\n\nEvery job the coordinator knows, with its state (--json: as JSON).\n", 0},
    {"cancel", "usage: petrel cancel JOB [--coordinator HOST:PORT]\n\nCancels a queued or running job.\n", 1},
    {"export", R"(usage: petrel export JOB --out PATH [--coordinator HOST:PORT]

Reads JOB's tables off its servers (as an observer: a running job is not
disturbed, and gets a snapshot) and writes them to PATH as safetensors: an
8-byte header length, a JSON header naming each table's dtype, shape and
byte offsets, then raw little-endian float32. Prints the parameters' SHA-256.
)", 1},
    {"data", R"(usage: petrel data text2libsvm --input DIR --output DIR --labels SUBDIR=LABEL,...
                    [--label SUBDIR=LABEL ...] [--suffix .txt] [--hash-bits 20]
                    [--test-fraction 0.2] [--seed 1]

Turns a folder of text files into OUTPUT/train.libsvm and OUTPUT/test.libsvm
and prints how many examples of each label went where. A file's label comes
from the top-level subdirectory of DIR it is under, e.g.
  --labels spam-1=1,spam-2=1,easy-ham-1=0,easy-ham-2=0,hard-ham-1=0
(--label may be repeated instead, one spec each). Files under other
subdirectories, or not ending with --suffix, are skipped. Each file's
lower-cased [a-z0-9]+ tokens are hashed (64-bit FNV-1a) into 2^hash-bits
buckets, the feature indices (0-based); values are binary presence,
L2-normalised. A file is a test example when a hash of (seed, its relative
path) says so, test-fraction of them on average. See docs/data.md.
)", 1},
};

}  // namespace

int main(int argc, char** argv) {
  // Flags are spelled with dashes on the command line (--summary-json);
  // Abseil's names use underscores.
  std::vector<std::string> args(argv, argv + argc);
  for (std::string& arg : args) {
    if (arg.rfind("--", 0) != 0) continue;
    const size_t end = arg.find('=') == std::string::npos ? arg.size() : arg.find('=');
    for (size_t i = 2; i < end; ++i) {
      if (arg[i] == '-') arg[i] = '_';
    }
  }
  if (args.size() < 2 || args[1] == "--help" || args[1] == "-h" || args[1] == "help") {
    std::fputs(kUsage, args.size() < 2 ? stderr : stdout);
    return args.size() < 2 ? 2 : 0;
  }
  const Command* command = nullptr;
  for (const Command& c : kCommands) {
    if (args[1] == c.name) command = &c;
  }
  if (command == nullptr) {
    std::fprintf(stderr, "petrel: unknown command \"%s\"\n\n%s", args[1].c_str(), kUsage);
    return 2;
  }
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      std::fputs(command->usage, stdout);
      return 0;
    }
  }
  // Abseil keeps only the last of a repeated flag, so `--label SPEC`, which
  // may be repeated, is collected here and joined with --labels below.
  std::vector<std::string> label_specs;
  std::vector<char*> flag_argv = {argv[0]};
  for (size_t i = 2; i < args.size(); ++i) {
    if (args[i] == "--label" && i + 1 < args.size()) {
      label_specs.push_back(args[++i]);
    } else if (args[i].rfind("--label=", 0) == 0) {
      label_specs.push_back(args[i].substr(8));
    } else {
      flag_argv.push_back(args[i].data());
    }
  }
  std::vector<char*> rest = absl::ParseCommandLine(flag_argv.size(), flag_argv.data());
  std::vector<std::string> positional(rest.begin() + 1, rest.end());
  if (static_cast<int>(positional.size()) < command->positional) {
    std::fprintf(stderr, "petrel %s: missing argument\n\n%s", command->name, command->usage);
    return 2;
  }
  const std::string first = positional.empty() ? "" : positional[0];
  const std::string coordinator = absl::GetFlag(FLAGS_coordinator);
  const std::string name = command->name;
  if (name == "certs") {
    if (first != "init") {
      std::fprintf(stderr, "petrel certs: unknown subcommand \"%s\"\n\n%s", first.c_str(),
                   command->usage);
      return 2;
    }
    return petrel::cli::CertsInit(positional[1], absl::GetFlag(FLAGS_hosts));
  }
  // Every command that talks to a cluster: TLS and the token as asked.
  std::shared_ptr<petrel::SecuredChannelFactory> channels;
  if (name != "local" && name != "data") {
    // The only read of the environment: libraries are handed the token.
    const char* environment_token = std::getenv(petrel::kClusterTokenEnv);
    absl::StatusOr<std::string> token = petrel::ReadClusterToken(
        absl::GetFlag(FLAGS_token_file), environment_token != nullptr ? environment_token : "");
    petrel::TransportSecurity security;
    security.role = "client";
    security.tls_dir = absl::GetFlag(FLAGS_tls_dir);
    if (token.ok()) security.token = *token;
    absl::StatusOr<std::shared_ptr<petrel::SecuredChannelFactory>> secured =
        token.ok() ? petrel::SecuredChannelFactory::Create(security)
                   : absl::StatusOr<std::shared_ptr<petrel::SecuredChannelFactory>>(token.status());
    if (!secured.ok()) {
      std::fprintf(stderr, "petrel %s: %s\n", name.c_str(),
                   std::string(secured.status().message()).c_str());
      return 1;
    }
    channels = *secured;
    if (absl::Status reachable = channels->CheckReachable(absl::GetFlag(FLAGS_coordinator));
        !reachable.ok()) {
      std::fprintf(stderr, "petrel %s: %s\n", name.c_str(),
                   std::string(reachable.message()).c_str());
      return 1;
    }
  }
  if (name == "local") {
    if (!absl::GetFlag(FLAGS_tls_dir).empty() || !absl::GetFlag(FLAGS_token_file).empty()) {
      std::fprintf(stderr,
                   "petrel local: makes its own token and certificates (--transport plaintext for none); "
                   "--tls_dir and --token_file are for the other commands\n");
      return 2;
    }
    petrel::cli::LocalOptions options;
    options.job_path = first;
    options.servers = absl::GetFlag(FLAGS_servers);
    options.workers = absl::GetFlag(FLAGS_workers);
    options.device = absl::GetFlag(FLAGS_device);
    options.summary_json = absl::GetFlag(FLAGS_summary_json);
    options.bin_dir = absl::GetFlag(FLAGS_bin_dir);
    const std::string transport =
        absl::GetFlag(FLAGS_plaintext) ? "plaintext" : absl::GetFlag(FLAGS_transport);
    if (transport == "unix") {
      options.transport = petrel::cli::LocalTransport::kUnixSockets;
    } else if (transport == "tls") {
      options.transport = petrel::cli::LocalTransport::kTls;
    } else if (transport == "plaintext") {
      options.transport = petrel::cli::LocalTransport::kPlaintext;
    } else {
      std::fprintf(stderr, "petrel local: --transport must be unix, tls or plaintext, not \"%s\"\n",
                   transport.c_str());
      return 2;
    }
    options.heartbeat_timeout_seconds = absl::GetFlag(FLAGS_heartbeat_timeout_seconds);
    return petrel::cli::RunLocal(options);
  }
  if (name == "data") {
    petrel::cli::DataOptions options;
    options.input_dir = absl::GetFlag(FLAGS_input);
    options.output_dir = absl::GetFlag(FLAGS_output);
    options.labels = absl::GetFlag(FLAGS_labels);
    options.labels.insert(options.labels.end(), label_specs.begin(), label_specs.end());
    options.suffix = absl::GetFlag(FLAGS_suffix);
    options.hash_bits = absl::GetFlag(FLAGS_hash_bits);
    options.test_fraction = absl::GetFlag(FLAGS_test_fraction);
    options.seed = absl::GetFlag(FLAGS_seed);
    return petrel::cli::Data(first, options);
  }
  if (name == "submit") return petrel::cli::Submit(first, coordinator, *channels);
  if (name == "status") {
    return petrel::cli::Status(coordinator, first, absl::GetFlag(FLAGS_json), *channels);
  }
  if (name == "jobs") return petrel::cli::Jobs(coordinator, absl::GetFlag(FLAGS_json), *channels);
  if (name == "export") {
    return petrel::cli::Export(coordinator, first, absl::GetFlag(FLAGS_out), *channels);
  }
  return petrel::cli::Cancel(coordinator, first, *channels);
}

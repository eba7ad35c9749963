// A cluster secured as a real one is (mutual TLS, a CA of its own, the
// cluster token), in one process: it trains to exactly the parameters of a
// plaintext cluster, and every call that lacks the token, carries a wrong
// one or comes without a client certificate is refused and changes nothing.
// tests/security_test.sh keeps what needs processes: the CLI's flags, the
// token from the environment, a client that shares no code with Petrel, and
// the Unix sockets of `petrel local`.
#define CATCH_CONFIG_MAIN
#include <filesystem>
#include <string>
#include <vector>

#include "catch2/catch.hpp"
#include "client/ps_client.h"
#include "common/jobspec/model_tables.h"
#include "common/rpc/rpc.h"
#include "tests/in_process_cluster.h"
#include "tools/cli/model_export.h"

namespace petrel::testing {
namespace {

JobSpec ShortJob() {
  JobSpec spec = FashionMnistJob({}, /*epochs=*/1, /*servers=*/2, /*workers=*/2);
  spec.mutable_training()->set_staleness(0);  // BSP: the sums do not depend on timing
  spec.mutable_training()->set_seed(11);
  return spec;
}

struct Trained {
  std::string job_id;
  ShardMap map;
  std::string sha256;
};

Trained Train(InProcessCluster& cluster) {
  auto job = cluster.RunJob(ShortJob(), absl::Minutes(3));
  REQUIRE(job.ok());
  INFO(job->error());
  REQUIRE(job->state() == SUCCEEDED);
  auto map = cluster.client().GetShardMap(job->job_id());
  REQUIRE(map.ok());
  auto tables = cli::FetchParameters(*map, cluster.channels());
  REQUIRE(tables.ok());
  return {job->job_id(), *map, cli::ParamsSha256(*map, *tables)};
}

// A coordinator client secured as `security`, and what ListJobs answers it.
absl::Status ListJobsAs(InProcessCluster& cluster, const TransportSecurity& security) {
  auto channels = SecuredChannelFactory::Create(security);
  REQUIRE(channels.ok());
  auto client = NewGrpcCoordinatorClient(**channels, cluster.coordinator_address(),
                                         absl::Seconds(5));
  return client->ListJobs().status();
}

TEST_CASE("a mutual-TLS cluster with a token trains to the plaintext cluster's parameters") {
  std::string plain_sha;
  {
    auto plain = InProcessCluster::Start({.servers = 2, .workers = 2});
    REQUIRE(plain.ok());
    plain_sha = Train(**plain).sha256;
  }
  auto secured = InProcessCluster::Start({.servers = 2, .workers = 2, .mutual_tls = true});
  REQUIRE(secured.ok());
  const TransportSecurity client = (*secured)->SecurityFor("client");
  CHECK(!client.tls_dir.empty());
  CHECK(client.token.size() >= 32);
  CHECK(Train(**secured).sha256 == plain_sha);
}

TEST_CASE("calls without the token, with a wrong one, or with no certificate are refused") {
  auto cluster = InProcessCluster::Start({.servers = 2, .workers = 2, .mutual_tls = true});
  REQUIRE(cluster.ok());
  const Trained trained = Train(**cluster);
  const TransportSecurity good = (*cluster)->SecurityFor("client");
  REQUIRE(ListJobsAs(**cluster, good).ok());

  TransportSecurity no_token = good;
  no_token.token.clear();
  absl::Status refused = ListJobsAs(**cluster, no_token);
  CHECK(absl::IsUnauthenticated(refused));

  TransportSecurity wrong_token = good;
  wrong_token.token = std::string(64, 'f');
  refused = ListJobsAs(**cluster, wrong_token);
  CHECK(absl::IsUnauthenticated(refused));

  // The CA but no certificate of its own: mutual TLS turns it away.
  const std::string ca_only = good.tls_dir + "-ca-only";
  std::filesystem::create_directories(ca_only);
  std::filesystem::copy_file(TlsCaPath(good.tls_dir), TlsCaPath(ca_only));
  TransportSecurity no_certificate = good;
  no_certificate.tls_dir = ca_only;
  no_certificate.role = "nobody";
  refused = ListJobsAs(**cluster, no_certificate);
  CHECK(absl::IsUnavailable(refused));

  refused = ListJobsAs(**cluster, TransportSecurity{});  // plaintext
  CHECK(absl::IsUnavailable(refused));

  // A push with a wrong token reaches no optimizer: the servers' parameters
  // are those the job ended with.
  auto wrong_channels = SecuredChannelFactory::Create(wrong_token);
  REQUIRE(wrong_channels.ok());
  worker::PsClientOptions options;
  options.job_id = trained.job_id;
  options.worker_id = "worker-0";
  options.retry_timeout = absl::Seconds(1);
  options.channels = wrong_channels->get();
  auto ps = worker::NewGrpcPsClient(trained.map, options);
  std::vector<std::vector<float>> gradients;
  for (const DenseTable& table : trained.map.tables()) {
    gradients.emplace_back(TableSize(table), 1.0f);
  }
  const absl::Status pushed = ps->Push(/*clock=*/0, gradients);
  CHECK(absl::IsUnauthenticated(pushed));
  auto tables = cli::FetchParameters(trained.map, (*cluster)->channels());
  REQUIRE(tables.ok());
  CHECK(cli::ParamsSha256(trained.map, *tables) == trained.sha256);
}

}  // namespace
}  // namespace petrel::testing

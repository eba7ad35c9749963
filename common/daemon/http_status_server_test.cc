// The status endpoints' protection: plain and open, or HTTPS with the cluster
// token on every page but /healthz (docs/security.md).
#define CATCH_CONFIG_MAIN
#include "common/daemon/http_status_server.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "absl/strings/escaping.h"
#include "catch2/catch.hpp"
#include "common/rpc/tls_certs.h"
#include "httplib.h"

namespace petrel {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

HttpStatusServer::Options Pages() {
  HttpStatusServer::Options options;
  options.status_json = [] { return std::string("{\"jobs\": [\"job-1\"]}"); };
  options.metrics_text = [] { return std::string("petrel_up 1\n"); };
  options.pages.push_back({"/api/jobs", [](const HttpQuery&) { return HttpReply{200, "application/json", "[]"}; }});
  return options;
}

TEST_CASE("without security every page is open over plain HTTP") {
  auto server = HttpStatusServer::Start(Pages());
  REQUIRE(server.ok());
  CHECK_FALSE((*server)->https());
  httplib::Client client("127.0.0.1", (*server)->port());
  for (const char* path : {"/healthz", "/status", "/metrics", "/api/jobs"}) {
    auto response = client.Get(path);
    REQUIRE(response);
    CHECK(response->status == 200);
  }
}

TEST_CASE("with a certificate and the token: HTTPS, and every page but /healthz needs the token") {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") +
                          "/http-certs";
  std::system(("rm -rf " + dir).c_str());
  REQUIRE(WriteClusterCertificates(dir, {}).ok());
  HttpStatusServer::Options options = Pages();
  options.security.cert_pem = Slurp(dir + "/server.pem");
  options.security.key_pem = Slurp(dir + "/server-key.pem");
  options.security.token = "s3cret-token";
  auto server = HttpStatusServer::Start(options);
  REQUIRE(server.ok());
  CHECK((*server)->https());

  // Plain HTTP gets nothing from an HTTPS port.
  httplib::Client plain("127.0.0.1", (*server)->port());
  plain.set_read_timeout(2);
  auto over_plain = plain.Get("/status");
  CHECK((!over_plain || over_plain->status != 200));

  httplib::SSLClient client("127.0.0.1", (*server)->port());
  client.set_ca_cert_path((dir + "/ca.pem").c_str());
  client.enable_server_certificate_verification(true);
  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
  CHECK(health->body == "ok\n");
  for (const char* path : {"/status", "/metrics", "/api/jobs"}) {
    INFO(path);
    auto refused = client.Get(path);
    REQUIRE(refused);
    CHECK(refused->status == 401);
    CHECK(refused->get_header_value("WWW-Authenticate") == "Basic realm=\"petrel\"");
    CHECK(refused->body.find("job-1") == std::string::npos);
    CHECK(refused->body.find("cluster token") != std::string::npos);
    auto wrong = client.Get(path, {{"Authorization", "Bearer s3cret-tokeN"}});
    REQUIRE(wrong);
    CHECK(wrong->status == 401);
    auto bearer = client.Get(path, {{"Authorization", "Bearer s3cret-token"}});
    REQUIRE(bearer);
    CHECK(bearer->status == 200);
    auto basic = client.Get(
        path, {{"Authorization", "Basic " + absl::Base64Escape("anyone:s3cret-token")}});
    REQUIRE(basic);
    CHECK(basic->status == 200);
    auto bad_basic = client.Get(path, {{"Authorization", "Basic " + absl::Base64Escape("s3cret-token")}});
    REQUIRE(bad_basic);
    CHECK(bad_basic->status == 401);
  }
  auto status = client.Get("/status", {{"Authorization", "Bearer s3cret-token"}});
  REQUIRE(status);
  CHECK(status->body.find("job-1") != std::string::npos);
}

TEST_CASE("a certificate that does not load is refused by name") {
  HttpStatusServer::Options options = Pages();
  options.security.cert_pem = "not a certificate";
  options.security.key_pem = "nor a key";
  auto server = HttpStatusServer::Start(options);
  REQUIRE_FALSE(server.ok());
  CHECK(server.status().message().find("certificate") != std::string::npos);
}

}  // namespace
}  // namespace petrel

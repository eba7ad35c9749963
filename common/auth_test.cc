// The cluster token and transport security of common/rpc, end to end in one
// process: a TLS gRPC port with a token, called by clients with the right
// and wrong token, no token, no TLS, a certificate of another CA, and none;
// and a Unix socket with a token.
#define CATCH_CONFIG_MAIN
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>

#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "common/auth.h"
#include "common/rpc.h"
#include "common/tls_certs.h"
#include "grpcpp/generic/generic_stub.h"

namespace petrel {
namespace {

std::string TempDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  return std::string(base != nullptr ? base : "/tmp") + "/" + name;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// Calls `method` with an empty message through a channel made now.
grpc::Status Call(const std::string& address, const std::string& method) {
  grpc::GenericStub stub(MakeChannel(address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  return done.get_future().get();
}

// Reaches the auth check but names no method: past the check, UNIMPLEMENTED.
constexpr char kAnyMethod[] = "/petrel.Nothing/Call";
constexpr char kHealth[] = "/grpc.health.v1.Health/Check";

TEST_CASE("TokenMatches compares whole tokens") {
  CHECK(TokenMatches("0123456789abcdef", "0123456789abcdef"));
  CHECK_FALSE(TokenMatches("0123456789abcdef", "0123456789abcdeF"));
  CHECK_FALSE(TokenMatches("0123456789abcde", "0123456789abcdef"));
  CHECK_FALSE(TokenMatches("", "0123456789abcdef"));
}

TEST_CASE("NewClusterToken gives 64 fresh hex digits") {
  const std::string a = NewClusterToken(), b = NewClusterToken();
  CHECK(a.size() == 64);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}

TEST_CASE("ReadClusterToken reads a file, else the environment, and checks the token") {
  unsetenv(kClusterTokenEnv);
  auto none = ReadClusterToken("");
  REQUIRE(none.ok());
  CHECK(none->empty());

  const std::string file = TempDir("token");
  WriteText(file, "  s3cret-token-0123456789\n");
  auto from_file = ReadClusterToken(file);
  REQUIRE(from_file.ok());
  CHECK(*from_file == "s3cret-token-0123456789");

  setenv(kClusterTokenEnv, "env-token-0123456789", 1);
  CHECK(*ReadClusterToken("") == "env-token-0123456789");
  CHECK(*ReadClusterToken(file) == "s3cret-token-0123456789");  // the file wins
  unsetenv(kClusterTokenEnv);

  WriteText(file, "short");
  auto short_token = ReadClusterToken(file);
  CHECK(short_token.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_FALSE(absl::StrContains(short_token.status().message(), "short"));
  WriteText(file, "has a space in the middle");
  CHECK_FALSE(ReadClusterToken(file).ok());
  CHECK(ReadClusterToken(TempDir("no-such-file")).status().code() ==
        absl::StatusCode::kNotFound);
}

TEST_CASE("WriteClusterCertificates writes a CA and per-role certificates once") {
  const std::string dir = TempDir("certs-once");
  REQUIRE(WriteClusterCertificates(dir, {"node1.example", "10.0.0.7"}).ok());
  for (const char* role : kTlsRoles) {
    struct stat key;
    REQUIRE(stat((dir + "/" + role + "-key.pem").c_str(), &key) == 0);
    CHECK((key.st_mode & 0777) == 0600);
    CHECK(std::ifstream(dir + "/" + role + ".pem").good());
  }
  CHECK(WriteClusterCertificates(dir, {}).code() == absl::StatusCode::kAlreadyExists);
  CHECK(WriteClusterCertificates(TempDir("certs-bad"), {"a,IP:1.2.3.4"}).code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("A token without TLS never crosses TCP") {
  TransportSecurity token_only;
  token_only.token = "0123456789abcdef0123";
  REQUIRE(SetTransportSecurity(token_only).ok());  // fine for Unix sockets
  auto tcp = StartGrpcServer("127.0.0.1", 0, {});
  CHECK(tcp.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(tcp.status().message(), "needs TLS (--tls_dir) on the TCP port"));
  CHECK(CheckReachable("10.0.0.1:7070").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(CheckReachable("unix:/tmp/x.sock").ok());
  REQUIRE(SetTransportSecurity(TransportSecurity()).ok());
  CHECK(CheckReachable("10.0.0.1:7070").ok());  // no token: nothing to leak
}

TEST_CASE("A Unix socket checks the token on every call, and only in a private folder") {
  // Not under TEST_TMPDIR: a socket's path must fit in 107 bytes.
  char dir_template[] = "/tmp/petrel-auth-test-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  REQUIRE(chmod(dir.c_str(), 0755) == 0);
  CHECK(StartGrpcServer("unix:" + dir + "/" + std::string(120, 'x'), 0, {}).status().code() ==
        absl::StatusCode::kInvalidArgument);
  const std::string address = "unix:" + dir + "/server.sock";
  const std::string token = NewClusterToken();
  TransportSecurity security;
  security.token = token;
  REQUIRE(SetTransportSecurity(security).ok());
  auto refused = StartGrpcServer(address, 0, {});
  CHECK(refused.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(absl::StrContains(refused.status().message(), "open to other users (mode 0755"));

  REQUIRE(chmod(dir.c_str(), 0700) == 0);
  auto started = StartGrpcServer(address, 0, {});
  REQUIRE(started.ok());
  CHECK(started->port == 0);
  CHECK(Call(address, kAnyMethod).error_code() == grpc::StatusCode::UNIMPLEMENTED);  // let in
  CHECK(Call(address, kHealth).ok());

  security.token = NewClusterToken();  // the wrong one
  REQUIRE(SetTransportSecurity(security).ok());
  CHECK(Call(address, kAnyMethod).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  security.token = "";
  REQUIRE(SetTransportSecurity(security).ok());
  CHECK(Call(address, kAnyMethod).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(Call(address, kHealth).ok());  // probes need no token
  started->server->Shutdown();
  std::filesystem::remove_all(dir);
  REQUIRE(SetTransportSecurity(TransportSecurity()).ok());
}

TEST_CASE("SetTransportSecurity refuses what would be insecure or is missing") {
  TransportSecurity no_files;
  no_files.role = "server";
  no_files.tls_dir = TempDir("empty-dir");
  CHECK(SetTransportSecurity(no_files).code() == absl::StatusCode::kNotFound);
  REQUIRE(SetTransportSecurity(TransportSecurity()).ok());
}

TEST_CASE("A TLS port with a token and mutual TLS lets in only the right clients") {
  const std::string dir = TempDir("certs-cluster");
  const std::string other = TempDir("certs-other");
  REQUIRE(WriteClusterCertificates(dir, {}).ok());
  REQUIRE(WriteClusterCertificates(other, {}).ok());
  const std::string token = NewClusterToken();

  TransportSecurity server;
  server.role = "server";
  server.tls_dir = dir;
  server.mutual_tls = true;
  server.token = token;
  REQUIRE(SetTransportSecurity(server).ok());
  auto started = StartGrpcServer("127.0.0.1", 0, {});
  REQUIRE(started.ok());
  const std::string address = "127.0.0.1:" + std::to_string(started->port);

  TransportSecurity client;
  client.tls_dir = dir;
  client.token = token;
  REQUIRE(SetTransportSecurity(client).ok());
  CHECK(Call(address, kAnyMethod).error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(Call(address, kHealth).ok());

  client.token = NewClusterToken();  // the wrong one
  REQUIRE(SetTransportSecurity(client).ok());
  grpc::Status wrong = Call(address, kAnyMethod);
  CHECK(wrong.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_FALSE(absl::StrContains(wrong.error_message(), token));
  CHECK(Call(address, kHealth).ok());  // probes need no token

  client.token = "";
  REQUIRE(SetTransportSecurity(client).ok());
  CHECK(Call(address, kAnyMethod).error_code() == grpc::StatusCode::UNAUTHENTICATED);

  // Plaintext against TLS: no connection at all.
  REQUIRE(SetTransportSecurity(TransportSecurity()).ok());
  CHECK(Call(address, kHealth).error_code() == grpc::StatusCode::UNAVAILABLE);

  // A certificate from another CA, with the right token: the handshake fails.
  client.tls_dir = other;
  client.token = token;
  REQUIRE(SetTransportSecurity(client).ok());
  CHECK(Call(address, kHealth).error_code() == grpc::StatusCode::UNAVAILABLE);

  // Trusting the right CA but presenting no certificate, under mutual TLS.
  const std::string ca_only = TempDir("certs-ca-only");
  std::filesystem::create_directories(ca_only);
  std::filesystem::copy_file(dir + "/ca.pem", ca_only + "/ca.pem",
                             std::filesystem::copy_options::overwrite_existing);
  client.tls_dir = ca_only;
  REQUIRE(SetTransportSecurity(client).ok());
  CHECK(Call(address, kHealth).error_code() == grpc::StatusCode::UNAVAILABLE);

  started->server->Shutdown();
  REQUIRE(SetTransportSecurity(TransportSecurity()).ok());
}

}  // namespace
}  // namespace petrel

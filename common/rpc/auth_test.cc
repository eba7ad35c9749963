// The cluster token and transport security of common/rpc, end to end in one
// process, each client and server with security of its own: a TLS gRPC port with a token, called by clients with the right
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
#include "common/rpc/auth.h"
#include "common/rpc/rpc.h"
#include "common/rpc/tls_certs.h"
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

// Loads `security` (which the test expects to be fine).
LoadedTransportSecurity Loaded(const TransportSecurity& security) {
  auto loaded = LoadedTransportSecurity::Load(security);
  REQUIRE(loaded.ok());
  return *loaded;
}

// Calls `method` with an empty message through a channel from `channels`.
grpc::Status Call(ChannelFactory& channels, const std::string& address,
                  const std::string& method) {
  grpc::GenericStub stub(channels.Channel(address));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1), response;
  std::promise<grpc::Status> done;
  stub.UnaryCall(&context, method, grpc::StubOptions(), &request, &response,
                 [&done](grpc::Status status) { done.set_value(status); });
  return done.get_future().get();
}

// The same through a channel made now by a client secured as `client`.
grpc::Status Call(const TransportSecurity& client, const std::string& address,
                  const std::string& method) {
  SecuredChannelFactory channels(Loaded(client));
  return Call(channels, address, method);
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

TEST_CASE("ReadClusterToken reads a file, else what main read from the environment, and checks the token") {
  // What main() passes when $PETREL_CLUSTER_TOKEN is set: the library itself
  // reads no environment, so a variable set here must change nothing.
  setenv(kClusterTokenEnv, "env-token-ignored-0123456789", 1);
  auto none = ReadClusterToken("");
  REQUIRE(none.ok());
  CHECK(none->empty());

  const std::string file = TempDir("token");
  WriteText(file, "  s3cret-token-0123456789\n");
  auto from_file = ReadClusterToken(file);
  REQUIRE(from_file.ok());
  CHECK(*from_file == "s3cret-token-0123456789");

  unsetenv(kClusterTokenEnv);
  CHECK(*ReadClusterToken("", " env-token-0123456789\n") == "env-token-0123456789");
  CHECK(*ReadClusterToken(file, "env-token-0123456789") == "s3cret-token-0123456789");  // the file wins
  auto short_env = ReadClusterToken("", "short");
  CHECK(short_env.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(absl::StrContains(short_env.status().message(), kClusterTokenEnv));

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
  const LoadedTransportSecurity loaded = Loaded(token_only);  // fine for Unix sockets
  auto tcp = StartGrpcServer(loaded, "127.0.0.1", 0, {});
  CHECK(tcp.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(tcp.status().message(), "needs TLS (--tls_dir) on the TCP port"));
  CHECK(CheckReachable(loaded, "10.0.0.1:7070").code() == absl::StatusCode::kFailedPrecondition);
  CHECK(absl::StrContains(CheckReachable(loaded, "10.0.0.1:7070").message(),
                          "needs TLS (--tls_dir) to reach 10.0.0.1:7070"));
  CHECK(CheckReachable(loaded, "unix:/tmp/x.sock").ok());
  SecuredChannelFactory channels(loaded);
  CHECK(channels.CheckReachable("10.0.0.1:7070").code() == absl::StatusCode::kFailedPrecondition);
  // No token: nothing to leak.
  CHECK(CheckReachable(LoadedTransportSecurity(), "10.0.0.1:7070").ok());
  CHECK(SecuredChannelFactory().CheckReachable("10.0.0.1:7070").ok());
}

TEST_CASE("A Unix socket checks the token on every call, and only in a private folder") {
  // Not under TEST_TMPDIR: a socket's path must fit in 107 bytes.
  char dir_template[] = "/tmp/petrel-auth-test-XXXXXX";
  REQUIRE(mkdtemp(dir_template) != nullptr);
  const std::string dir = dir_template;
  REQUIRE(chmod(dir.c_str(), 0755) == 0);
  CHECK(StartGrpcServer(LoadedTransportSecurity(), "unix:" + dir + "/" + std::string(120, 'x'), 0,
                        {})
            .status()
            .code() == absl::StatusCode::kInvalidArgument);
  const std::string address = "unix:" + dir + "/server.sock";
  const std::string token = NewClusterToken();
  TransportSecurity security;
  security.token = token;
  auto refused = StartGrpcServer(Loaded(security), address, 0, {});
  CHECK(refused.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK(absl::StrContains(refused.status().message(), "open to other users (mode 0755"));

  REQUIRE(chmod(dir.c_str(), 0700) == 0);
  auto started = StartGrpcServer(Loaded(security), address, 0, {});
  REQUIRE(started.ok());
  CHECK(started->port == 0);
  CHECK(Call(security, address, kAnyMethod).error_code() ==
        grpc::StatusCode::UNIMPLEMENTED);  // let in
  CHECK(Call(security, address, kHealth).ok());

  TransportSecurity wrong = security;
  wrong.token = NewClusterToken();  // the wrong one
  CHECK(Call(wrong, address, kAnyMethod).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  TransportSecurity none = security;
  none.token = "";
  CHECK(Call(none, address, kAnyMethod).error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK(Call(none, address, kHealth).ok());  // probes need no token
  started->server->Shutdown();
  std::filesystem::remove_all(dir);
}

TEST_CASE("Loading transport security refuses what would be insecure or is missing") {
  TransportSecurity no_files;
  no_files.role = "server";
  no_files.tls_dir = TempDir("empty-dir");
  auto missing = LoadedTransportSecurity::Load(no_files);
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK(absl::StrContains(missing.status().message(), TempDir("empty-dir") + "/ca.pem"));
  CHECK(SecuredChannelFactory::Create(no_files).status().code() == absl::StatusCode::kNotFound);
  TransportSecurity mtls_alone;
  mtls_alone.mutual_tls = true;
  CHECK(LoadedTransportSecurity::Load(mtls_alone).status().code() ==
        absl::StatusCode::kFailedPrecondition);
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
  auto started = StartGrpcServer(Loaded(server), "127.0.0.1", 0, {});
  REQUIRE(started.ok());
  const std::string address = "127.0.0.1:" + std::to_string(started->port);

  TransportSecurity client;
  client.tls_dir = dir;
  client.token = token;
  CHECK(Call(client, address, kAnyMethod).error_code() == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(Call(client, address, kHealth).ok());

  client.token = NewClusterToken();  // the wrong one
  grpc::Status wrong = Call(client, address, kAnyMethod);
  CHECK(wrong.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_FALSE(absl::StrContains(wrong.error_message(), token));
  CHECK(Call(client, address, kHealth).ok());  // probes need no token

  client.token = "";
  CHECK(Call(client, address, kAnyMethod).error_code() == grpc::StatusCode::UNAUTHENTICATED);

  // Plaintext against TLS: no connection at all.
  CHECK(Call(TransportSecurity(), address, kHealth).error_code() == grpc::StatusCode::UNAVAILABLE);

  // A certificate from another CA, with the right token: the handshake fails.
  client.tls_dir = other;
  client.token = token;
  CHECK(Call(client, address, kHealth).error_code() == grpc::StatusCode::UNAVAILABLE);

  // Trusting the right CA but presenting no certificate, under mutual TLS.
  const std::string ca_only = TempDir("certs-ca-only");
  std::filesystem::create_directories(ca_only);
  std::filesystem::copy_file(dir + "/ca.pem", ca_only + "/ca.pem",
                             std::filesystem::copy_options::overwrite_existing);
  client.tls_dir = ca_only;
  CHECK(Call(client, address, kHealth).error_code() == grpc::StatusCode::UNAVAILABLE);

  started->server->Shutdown();
}

TEST_CASE("Two differently secured clients in one process keep their own security") {
  // What the process-wide setting made impossible: a TLS client with the
  // token and a plaintext one side by side, each reaching only its server.
  const std::string dir = TempDir("certs-side-by-side");
  REQUIRE(WriteClusterCertificates(dir, {}).ok());
  TransportSecurity server;
  server.role = "server";
  server.tls_dir = dir;
  server.token = NewClusterToken();
  auto tls_server = StartGrpcServer(Loaded(server), "127.0.0.1", 0, {});
  auto plain_server = StartGrpcServer(LoadedTransportSecurity(), "127.0.0.1", 0, {});
  REQUIRE(tls_server.ok());
  REQUIRE(plain_server.ok());
  const std::string tls_address = "127.0.0.1:" + std::to_string(tls_server->port);
  const std::string plain_address = "127.0.0.1:" + std::to_string(plain_server->port);

  TransportSecurity client;
  client.tls_dir = dir;
  client.token = server.token;
  SecuredChannelFactory tls_channels(Loaded(client));
  SecuredChannelFactory plain_channels;
  auto call = [](SecuredChannelFactory& channels, const std::string& address) {
    return Call(channels, address, kAnyMethod).error_code();
  };
  CHECK(call(tls_channels, tls_address) == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(call(plain_channels, plain_address) == grpc::StatusCode::UNIMPLEMENTED);
  CHECK(call(plain_channels, tls_address) == grpc::StatusCode::UNAVAILABLE);
  CHECK(tls_channels.security().tls());
  CHECK_FALSE(plain_channels.security().tls());
  CHECK(StatusUrl(tls_channels.security(), "10.0.0.1:80", "/status") == "https://10.0.0.1:80/status");
  CHECK(StatusUrl(plain_channels.security(), "10.0.0.1:80", "/status") ==
        "http://10.0.0.1:80/status");
  CHECK(StatusUrl(tls_channels.security(), "127.0.0.1:80", "/status") ==
        "http://127.0.0.1:80/status");
  tls_server->server->Shutdown();
  plain_server->server->Shutdown();
}

}  // namespace
}  // namespace petrel

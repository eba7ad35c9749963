#include "common/rpc.h"

#include "common/channel_factory.h"

#include <sys/stat.h>

#include <fstream>
#include <mutex>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/auth.h"
#include "common/status_macros.h"
#include "grpc/grpc_security.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "grpcpp/support/channel_arguments.h"
#include "spdlog/spdlog.h"

namespace petrel {
namespace {

// HTTP/2 settings for bulk tensors on a LAN: big frames (fewer headers and
// wakeups per megabyte), a stream window that lets a whole chunk be in flight
// without waiting for WINDOW_UPDATEs, and large socket reads.
template <typename Setter>
void TuneTransport(Setter set) {
  set(GRPC_ARG_HTTP2_MAX_FRAME_SIZE, (1 << 24) - 1);
  set(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 64 << 20);
  set(GRPC_ARG_HTTP2_WRITE_BUFFER_SIZE, 64 << 20);
  set(GRPC_ARG_TCP_READ_CHUNK_SIZE, 4 << 20);
  set(GRPC_ARG_TCP_MIN_READ_CHUNK_SIZE, 1 << 20);
  set(GRPC_ARG_TCP_MAX_READ_CHUNK_SIZE, 16 << 20);
}

// What SetTransportSecurity loaded. Process-wide on purpose: every channel
// and server of a daemon, including ones added later, gets it without each
// call site passing it along; in-process test clusters never set it.
struct LoadedSecurity {
  bool tls = false;
  bool mutual_tls = false;
  std::string ca_pem, cert_pem, key_pem;  // cert and key empty: none (clients only)
  std::string token;
  // TLS sessions of this setting's client channels (MakeChannel).
  std::shared_ptr<grpc_ssl_session_cache> sessions;
};

absl::Mutex security_mu(absl::kConstInit);
LoadedSecurity* loaded_security ABSL_GUARDED_BY(security_mu) = nullptr;

LoadedSecurity CurrentSecurity() {
  absl::MutexLock lock(&security_mu);
  return loaded_security != nullptr ? *loaded_security : LoadedSecurity();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

bool Exists(const std::string& path) { return std::ifstream(path).good(); }

// Whether `key_pem` is the private key of the certificate in `cert_pem`, so a
// mismatch is named at start-up rather than as a failed bind or handshake.
absl::Status CheckKeyPair(const std::string& cert_pem, const std::string& key_pem,
                          const std::string& cert_path, const std::string& key_path) {
  BIO* cert_bio = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  absl::Status result = absl::OkStatus();
  if (cert == nullptr) {
    result = absl::InvalidArgumentError(absl::StrCat(cert_path, " holds no PEM certificate"));
  } else if (key == nullptr) {
    result = absl::InvalidArgumentError(absl::StrCat(key_path, " holds no PEM private key"));
  } else if (X509_check_private_key(cert, key) != 1) {
    result = absl::InvalidArgumentError(
        absl::StrCat(key_path, " is not the private key of ", cert_path));
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  return result;
}

bool IsServerRole(const std::string& role) { return role == "coordinator" || role == "server"; }

constexpr char kUnixPrefix[] = "unix:";

// A Unix socket protects its calls only as far as its directory keeps other
// users out: refuse one whose directory they can search or write.
absl::Status CheckSocketDirectory(const std::string& socket_path) {
  // sockaddr_un's sun_path: 108 bytes with the terminating NUL.
  constexpr size_t kMaxSocketPath = 107;
  if (socket_path.size() > kMaxSocketPath) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the gRPC socket path ", socket_path, " is ", socket_path.size(),
        " bytes; a Unix socket's path may have at most ", kMaxSocketPath));
  }
  const size_t slash = socket_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : socket_path.substr(0, std::max<size_t>(slash, 1));
  struct stat info;
  if (stat(dir.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
    return absl::NotFoundError(absl::StrCat("the gRPC socket's directory ", dir, " does not exist"));
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0 || info.st_uid != geteuid()) {
    return absl::PermissionDeniedError(absl::StrFormat(
        "the gRPC socket's directory %s is open to other users (mode %04o, owner uid %d): "
        "make it yours and mode 0700, so that only you can connect",
        dir, info.st_mode & 07777, info.st_uid));
  }
  return absl::OkStatus();
}

}  // namespace

std::string TlsCaPath(const std::string& tls_dir) { return tls_dir + "/ca.pem"; }

std::string TlsCertPath(const std::string& tls_dir, const std::string& role) {
  const std::string own = absl::StrCat(tls_dir, "/", role, ".pem");
  return Exists(own) ? own : tls_dir + "/cert.pem";
}

std::string TlsKeyPath(const std::string& tls_dir, const std::string& role) {
  const std::string own = absl::StrCat(tls_dir, "/", role, "-key.pem");
  return Exists(own) ? own : tls_dir + "/key.pem";
}

absl::Status SetTransportSecurity(const TransportSecurity& security) {
  LoadedSecurity loaded;
  if (!security.tls_dir.empty()) {
    loaded.tls = true;
    loaded.mutual_tls = security.mutual_tls;
    auto ca = ReadFile(TlsCaPath(security.tls_dir));
    if (!ca.ok()) return ca.status();
    loaded.ca_pem = *ca;
    const std::string cert_path = TlsCertPath(security.tls_dir, security.role);
    const std::string key_path = TlsKeyPath(security.tls_dir, security.role);
    if (IsServerRole(security.role) || Exists(cert_path)) {
      auto cert = ReadFile(cert_path);
      if (!cert.ok()) return cert.status();
      auto key = ReadFile(key_path);
      if (!key.ok()) return key.status();
      if (absl::Status pair = CheckKeyPair(*cert, *key, cert_path, key_path); !pair.ok()) {
        return pair;
      }
      loaded.cert_pem = *cert;
      loaded.key_pem = *key;
    }
  } else if (security.mutual_tls) {
    return absl::FailedPreconditionError("--mtls needs --tls_dir");
  }
  loaded.token = security.token;
  if (loaded.tls) {
    // Channels made from it hold references of their own.
    loaded.sessions = std::shared_ptr<grpc_ssl_session_cache>(
        grpc_ssl_session_cache_create_lru(256), grpc_ssl_session_cache_destroy);
  }
  absl::MutexLock lock(&security_mu);
  delete loaded_security;
  loaded_security = new LoadedSecurity(std::move(loaded));
  return absl::OkStatus();
}

absl::Status SecureThisProcess(const std::string& role, const std::string& tls_dir,
                               bool mutual_tls, const std::string& token_file) {
  auto token = ReadClusterToken(token_file);
  if (!token.ok()) return token.status();
  TransportSecurity security;
  security.role = role;
  security.tls_dir = tls_dir;
  security.mutual_tls = mutual_tls;
  security.token = *token;
  if (absl::Status set = SetTransportSecurity(security); !set.ok()) return set;
  // Daemons say how they are secured; the CLI keeps its output for answers.
  if (!tls_dir.empty() && role != "client") {
    spdlog::info("gRPC over TLS (certificates in {}{}){}", tls_dir,
                 mutual_tls ? ", client certificates required" : "",
                 token->empty() ? ", no cluster token" : ", cluster token required");
  }
  return absl::OkStatus();
}

bool IsUnixSocketAddress(const std::string& address) {
  return absl::StartsWith(address, kUnixPrefix);
}

absl::Status CheckReachable(const std::string& address) {
  const LoadedSecurity security = CurrentSecurity();
  if (IsUnixSocketAddress(address) || security.tls || security.token.empty()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "a cluster token needs TLS (--tls_dir) to reach ", address,
      " over TCP: it would cross the network in the clear (a local cluster is reached at its "
      "unix: socket)"));
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Each target gets its own connection: sharing one subchannel between the
  // channels of several shards would serialise their traffic.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  TuneTransport([&args](const char* name, int value) { args.SetInt(name, value); });
  const LoadedSecurity security = CurrentSecurity();
  if (IsUnixSocketAddress(address)) {
    // Local credentials: no encryption, but gRPC sends call credentials
    // (the token) over them, which it refuses on an insecure channel.
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        grpc::experimental::LocalCredentials(UDS);
    if (!security.token.empty()) {
      credentials =
          grpc::CompositeChannelCredentials(credentials, TokenCallCredentials(security.token));
    }
    return grpc::CreateCustomChannel(address, credentials, args);
  }
  if (!security.tls) {
    // Without TLS the token stays home (CheckReachable names the problem);
    // a server that wants it answers UNAUTHENTICATED.
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  // TLS session resumption: a reconnect to a daemon this process already
  // spoke with (a restarted channel, a replica's new chain) skips the full
  // handshake. One cache per security setting: a resumed session skips the
  // certificate checks, so it must never outlive the CA it was checked with.
  const grpc_arg session_arg = grpc_ssl_session_cache_create_channel_arg(security.sessions.get());
  args.SetPointerWithVtable(session_arg.key, session_arg.value.pointer.p,
                            session_arg.value.pointer.vtable);
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = security.ca_pem;
  tls.pem_cert_chain = security.cert_pem;  // presented when the server asks (--mtls)
  tls.pem_private_key = security.key_pem;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(tls);
  if (!security.token.empty()) {
    credentials =
        grpc::CompositeChannelCredentials(credentials, TokenCallCredentials(security.token));
  }
  return grpc::CreateCustomChannel(address, credentials, args);
}

absl::StatusOr<StartedGrpcServer> StartGrpcServer(const std::string& host, int port,
                                                   const std::vector<grpc::Service*>& services) {
  StartedGrpcServer started;
  // The standard grpc.health.v1 service, for probes (grpc_health_probe,
  // Kubernetes): SERVING while the daemon runs.
  grpc::EnableDefaultHealthCheckService(true);
  // Server reflection, so grpcurl and other generic clients can list and
  // call the services without Petrel's .proto files.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  const LoadedSecurity security = CurrentSecurity();
  const bool unix_socket = IsUnixSocketAddress(host);
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (unix_socket) {
    PETREL_RETURN_IF_ERROR(CheckSocketDirectory(host.substr(strlen(kUnixPrefix))));
    credentials = grpc::experimental::LocalServerCredentials(UDS);
    if (!security.token.empty()) {
      credentials->SetAuthMetadataProcessor(NewTokenChecker(security.token));
    }
  } else if (security.tls) {
    grpc::SslServerCredentialsOptions tls(
        security.mutual_tls ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    tls.pem_root_certs = security.ca_pem;
    tls.pem_key_cert_pairs.push_back({security.key_pem, security.cert_pem});
    credentials = grpc::SslServerCredentials(tls);
    // The one check of the cluster token, for every service on this port.
    if (!security.token.empty()) {
      credentials->SetAuthMetadataProcessor(NewTokenChecker(security.token));
    }
  } else if (!security.token.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a cluster token needs TLS (--tls_dir) on the TCP port ", host, ":", port,
        ": it would cross the network in the clear (a local cluster listens on --grpc_socket)"));
  } else {
    static std::once_flag warned;
    std::call_once(warned, [] {
      spdlog::warn(
          "gRPC is plaintext and unauthenticated (no --tls_dir): anyone who can reach the port "
          "can call it; see docs/security.md");
    });
    credentials = grpc::InsecureServerCredentials();
  }
  grpc::ServerBuilder builder;
  const std::string address = unix_socket ? host : absl::StrCat(host, ":", port);
  int bound_port = 0;
  builder.AddListeningPort(address, credentials, &bound_port);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreamsPerClient);
  TuneTransport(
      [&builder](const char* name, int value) { builder.AddChannelArgument(name, value); });
  for (grpc::Service* service : services) builder.RegisterService(service);
  started.server = builder.BuildAndStart();
  if (started.server == nullptr || bound_port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot bind the gRPC ",
                                               unix_socket ? "socket " : "port ", address,
                                               " (is it already in use?)"));
  }
  started.port = unix_socket ? 0 : bound_port;
  return started;
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || host == "[::1]" ||
         absl::StartsWith(host, "127.");
}

HttpSecurity HttpSecurityFor(const std::string& http_host) {
  HttpSecurity http;
  if (IsLoopbackHost(http_host)) return http;
  const LoadedSecurity security = CurrentSecurity();
  if (!security.tls || security.cert_pem.empty()) {
    spdlog::warn("HTTP status endpoints on {} are plain and open to anyone who can reach them{}; "
                 "see docs/security.md",
                 http_host.empty() ? "every address" : http_host,
                 security.tls ? " (no certificate for this role in --tls_dir)" : " (no --tls_dir)");
    return http;
  }
  http.cert_pem = security.cert_pem;
  http.key_pem = security.key_pem;
  http.token = security.token;
  return http;
}

std::string StatusUrl(const std::string& http_address, const std::string& path) {
  const std::string host = http_address.substr(0, http_address.rfind(':'));
  const bool https = CurrentSecurity().tls && !IsLoopbackHost(host);
  return absl::StrCat(https ? "https://" : "http://", http_address, path);
}

}  // namespace petrel

namespace petrel {
namespace {

class ProcessSecuredChannels : public ChannelFactory {
 public:
  std::shared_ptr<grpc::Channel> Channel(const std::string& address) override {
    return MakeChannel(address);
  }
  absl::Status CheckReachable(const std::string& address) const override {
    return petrel::CheckReachable(address);
  }
};

}  // namespace

ChannelFactory& ProcessChannelFactory() {
  static ProcessSecuredChannels* const factory = new ProcessSecuredChannels();
  return *factory;
}

}  // namespace petrel

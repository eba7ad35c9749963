#include "common/rpc/rpc.h"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "common/rpc/auth.h"
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

spdlog::logger* OrDefault(spdlog::logger* log) {
  return log != nullptr ? log : spdlog::default_logger_raw();
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

absl::StatusOr<LoadedTransportSecurity> LoadedTransportSecurity::Load(
    const TransportSecurity& security) {
  LoadedTransportSecurity loaded;
  if (!security.tls_dir.empty()) {
    loaded.tls_ = true;
    loaded.mutual_tls_ = security.mutual_tls;
    PETREL_ASSIGN_OR_RETURN(loaded.ca_pem_, ReadFile(TlsCaPath(security.tls_dir)));
    const std::string cert_path = TlsCertPath(security.tls_dir, security.role);
    const std::string key_path = TlsKeyPath(security.tls_dir, security.role);
    if (IsServerRole(security.role) || Exists(cert_path)) {
      PETREL_ASSIGN_OR_RETURN(std::string cert, ReadFile(cert_path));
      PETREL_ASSIGN_OR_RETURN(std::string key, ReadFile(key_path));
      PETREL_RETURN_IF_ERROR(CheckKeyPair(cert, key, cert_path, key_path));
      loaded.cert_pem_ = std::move(cert);
      loaded.key_pem_ = std::move(key);
    }
  } else if (security.mutual_tls) {
    return absl::FailedPreconditionError("--mtls needs --tls_dir");
  }
  loaded.token_ = security.token;
  return loaded;
}

bool IsUnixSocketAddress(const std::string& address) {
  return absl::StartsWith(address, kUnixPrefix);
}

absl::Status CheckReachable(const LoadedTransportSecurity& security, const std::string& address) {
  if (IsUnixSocketAddress(address) || security.tls() || security.token().empty()) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "a cluster token needs TLS (--tls_dir) to reach ", address,
      " over TCP: it would cross the network in the clear (a local cluster is reached at its "
      "unix: socket)"));
}

SecuredChannelFactory::SecuredChannelFactory(LoadedTransportSecurity security)
    : security_(std::move(security)),
      sessions_(security_.tls() ? std::shared_ptr<grpc_ssl_session_cache>(
                                      grpc_ssl_session_cache_create_lru(256),
                                      grpc_ssl_session_cache_destroy)
                                : nullptr) {}

absl::StatusOr<std::shared_ptr<SecuredChannelFactory>> SecuredChannelFactory::Create(
    const TransportSecurity& security, spdlog::logger* log) {
  PETREL_ASSIGN_OR_RETURN(LoadedTransportSecurity loaded, LoadedTransportSecurity::Load(security));
  // Daemons say how they are secured; the CLI keeps its output for answers.
  if (log != nullptr && loaded.tls() && security.role != "client") {
    log->info("gRPC over TLS (certificates in {}{}){}", security.tls_dir,
              security.mutual_tls ? ", client certificates required" : "",
              security.token.empty() ? ", no cluster token" : ", cluster token required");
  }
  return std::make_shared<SecuredChannelFactory>(std::move(loaded));
}

absl::Status SecuredChannelFactory::CheckReachable(const std::string& address) const {
  return petrel::CheckReachable(security_, address);
}

std::shared_ptr<grpc::Channel> SecuredChannelFactory::Channel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Each target gets its own connection: sharing one subchannel between the
  // channels of several shards would serialise their traffic.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  TuneTransport([&args](const char* name, int value) { args.SetInt(name, value); });
  const LoadedTransportSecurity& security = security_;
  if (IsUnixSocketAddress(address)) {
    // Local credentials: no encryption, but gRPC sends call credentials
    // (the token) over them, which it refuses on an insecure channel.
    std::shared_ptr<grpc::ChannelCredentials> credentials =
        grpc::experimental::LocalCredentials(UDS);
    if (!security.token().empty()) {
      credentials =
          grpc::CompositeChannelCredentials(credentials, TokenCallCredentials(security.token()));
    }
    return grpc::CreateCustomChannel(address, credentials, args);
  }
  if (!security.tls()) {
    // Without TLS the token stays home (CheckReachable names the problem);
    // a server that wants it answers UNAUTHENTICATED.
    return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  }
  // TLS session resumption: a reconnect to a daemon this process already
  // spoke with (a restarted channel, a replica's new chain) skips the full
  // handshake. One cache per security setting: a resumed session skips the
  // certificate checks, so it must never outlive the CA it was checked with.
  const grpc_arg session_arg = grpc_ssl_session_cache_create_channel_arg(sessions_.get());
  args.SetPointerWithVtable(session_arg.key, session_arg.value.pointer.p,
                            session_arg.value.pointer.vtable);
  grpc::SslCredentialsOptions tls;
  tls.pem_root_certs = security.ca_pem();
  tls.pem_cert_chain = security.cert_pem();  // presented when the server asks (--mtls)
  tls.pem_private_key = security.key_pem();
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(tls);
  if (!security.token().empty()) {
    credentials =
        grpc::CompositeChannelCredentials(credentials, TokenCallCredentials(security.token()));
  }
  return grpc::CreateCustomChannel(address, credentials, args);
}

absl::StatusOr<StartedGrpcServer> StartGrpcServer(const LoadedTransportSecurity& security,
                                                   const std::string& host, int port,
                                                   const std::vector<grpc::Service*>& services,
                                                   spdlog::logger* log) {
  StartedGrpcServer started;
  // The standard grpc.health.v1 service, for probes (grpc_health_probe,
  // Kubernetes): SERVING while the daemon runs.
  grpc::EnableDefaultHealthCheckService(true);
  // Server reflection, so grpcurl and other generic clients can list and
  // call the services without Petrel's .proto files.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  const bool unix_socket = IsUnixSocketAddress(host);
  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (unix_socket) {
    PETREL_RETURN_IF_ERROR(CheckSocketDirectory(host.substr(strlen(kUnixPrefix))));
    credentials = grpc::experimental::LocalServerCredentials(UDS);
    if (!security.token().empty()) {
      credentials->SetAuthMetadataProcessor(NewTokenChecker(security.token()));
    }
  } else if (security.tls()) {
    grpc::SslServerCredentialsOptions tls(
        security.mutual_tls() ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                              : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    tls.pem_root_certs = security.ca_pem();
    tls.pem_key_cert_pairs.push_back({security.key_pem(), security.cert_pem()});
    credentials = grpc::SslServerCredentials(tls);
    // The one check of the cluster token, for every service on this port.
    if (!security.token().empty()) {
      credentials->SetAuthMetadataProcessor(NewTokenChecker(security.token()));
    }
  } else if (!security.token().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "a cluster token needs TLS (--tls_dir) on the TCP port ", host, ":", port,
        ": it would cross the network in the clear (a local cluster listens on --grpc_socket)"));
  } else {
    // Each daemon says it of its own port.
    OrDefault(log)->warn(
        "gRPC is plaintext and unauthenticated (no --tls_dir): anyone who can reach the port "
        "can call it; see docs/security.md");
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

HttpSecurity HttpSecurityFor(const LoadedTransportSecurity& security, const std::string& http_host,
                             spdlog::logger* log) {
  HttpSecurity http;
  if (IsLoopbackHost(http_host)) return http;
  if (!security.tls() || security.cert_pem().empty()) {
    OrDefault(log)->warn(
        "HTTP status endpoints on {} are plain and open to anyone who can reach them{}; "
        "see docs/security.md",
        http_host.empty() ? "every address" : http_host,
        security.tls() ? " (no certificate for this role in --tls_dir)" : " (no --tls_dir)");
    return http;
  }
  http.cert_pem = security.cert_pem();
  http.key_pem = security.key_pem();
  http.token = security.token();
  return http;
}

std::string StatusUrl(const LoadedTransportSecurity& security, const std::string& http_address,
                      const std::string& path) {
  const std::string host = http_address.substr(0, http_address.rfind(':'));
  const bool https = security.tls() && !IsLoopbackHost(host);
  return absl::StrCat(https ? "https://" : "http://", http_address, path);
}

}  // namespace petrel

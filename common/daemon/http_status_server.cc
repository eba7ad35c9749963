#include "common/daemon/http_status_server.h"

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/rpc/openssl_ptr.h"
#include "httplib.h"

namespace petrel {
namespace {

bool SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The request carries `token`: as a bearer token, or as the password of
// HTTP Basic (any user name).
bool CarriesToken(const httplib::Request& req, const std::string& token) {
  const std::string header = req.get_header_value("Authorization");
  if (absl::StartsWith(header, "Bearer ")) return SameSecret(header.substr(7), token);
  if (absl::StartsWith(header, "Basic ")) {
    std::string decoded;
    if (!absl::Base64Unescape(header.substr(6), &decoded)) return false;
    const size_t colon = decoded.find(':');
    return colon != std::string::npos && SameSecret(decoded.substr(colon + 1), token);
  }
  return false;
}

// An HTTPS server with the PEM certificate and key, or the error naming
// what did not load.
absl::StatusOr<std::unique_ptr<httplib::Server>> MakeHttpsServer(const HttpSecurity& security) {
  using Bio = std::unique_ptr<BIO, openssl::Deleter<BIO, BIO_free_all>>;
  Bio cert_bio(BIO_new_mem_buf(security.cert_pem.data(), static_cast<int>(security.cert_pem.size())));
  Bio key_bio(BIO_new_mem_buf(security.key_pem.data(), static_cast<int>(security.key_pem.size())));
  openssl::Cert cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  openssl::Key key(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr || key == nullptr) {
    return absl::InvalidArgumentError(
        "the HTTPS status endpoints cannot load the daemon's certificate or key");
  }
  // The server takes its own references to both.
  auto server = std::make_unique<httplib::SSLServer>(cert.get(), key.get());
  if (!server->is_valid()) {
    return absl::InvalidArgumentError("the HTTPS status endpoints refuse the daemon's certificate");
  }
  return server;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpStatusServer>> HttpStatusServer::Start(Options options) {
  auto self = std::unique_ptr<HttpStatusServer>(new HttpStatusServer());
  const HttpSecurity& security = options.security;
  if (!security.cert_pem.empty() || !security.key_pem.empty()) {
    auto https = MakeHttpsServer(security);
    if (!https.ok()) return https.status();
    self->server_ = std::move(*https);
    self->https_ = true;
  } else {
    self->server_ = std::make_unique<httplib::Server>();
  }
  httplib::Server& server = *self->server_;
  if (!security.token.empty()) {
    // Liveness probes (kubelet, load balancers, the coordinator) need no
    // secret and learn nothing from /healthz; every other page does.
    server.set_pre_routing_handler([token = security.token](const httplib::Request& req,
                                                            httplib::Response& res) {
      if (req.path == "/healthz" || CarriesToken(req, token)) {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      res.status = 401;
      res.set_header("WWW-Authenticate", "Basic realm=\"petrel\"");
      res.set_content(
          "this endpoint needs the cluster token: send \"Authorization: Bearer TOKEN\", or any "
          "user name with the token as the password\n",
          "text/plain");
      return httplib::Server::HandlerResponse::Handled;
    });
  }
  // Hostile clients: GET carries no body worth reading, and a slow sender
  // must not hold one of the few handler threads for long.
  server.set_payload_max_length(64 << 10);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(5, 0);
  server.set_default_headers(
      {{"X-Content-Type-Options", "nosniff"}, {"Cache-Control", "no-store"}});

  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  auto status_json = options.status_json;
  server.Get("/status", [status_json](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_json ? status_json() + "\n" : "{}\n", "application/json");
  });
  auto metrics_text = options.metrics_text;
  server.Get("/metrics", [metrics_text](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text ? metrics_text() : "", "text/plain; version=0.0.4");
  });
  std::string known = "/healthz, /status, /metrics";
  for (const Page& page : options.pages) {
    absl::StrAppend(&known, ", ", page.path);
    auto handler = page.handler;
    server.Get(page.path, [handler](const httplib::Request& req, httplib::Response& res) {
      HttpQuery query(req.params.begin(), req.params.end());
      HttpReply reply = handler(query);
      res.status = reply.status;
      res.set_content(reply.body, reply.status == 200 ? reply.content_type : "text/plain");
    });
  }
  // Only GET exists: the endpoints never change state.
  server.set_error_handler([known](const httplib::Request& req, httplib::Response& res) {
    if (res.status == 404 && res.body.empty()) {
      res.set_content(absl::StrCat("no such endpoint: ", req.path, " (try ", known, ")\n"),
                      "text/plain");
    } else if (res.status == 405 || res.status == 400) {
      res.set_content(absl::StrCat("only GET is served here\n"), "text/plain");
    }
  });

  if (options.port == 0) {
    self->port_ = server.bind_to_any_port(options.host);
  } else {
    self->port_ = server.bind_to_port(options.host, options.port) ? options.port : -1;
  }
  if (self->port_ <= 0) {
    return absl::UnavailableError(absl::StrCat("cannot bind the HTTP status port ",
                                               options.host, ":", options.port,
                                               " (is it already in use?)"));
  }
  self->thread_ = std::thread([&server] { server.listen_after_bind(); });
  return self;
}

HttpStatusServer::~HttpStatusServer() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace petrel

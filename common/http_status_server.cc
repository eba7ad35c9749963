#include "common/http_status_server.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "httplib.h"

namespace petrel {

absl::StatusOr<std::unique_ptr<HttpStatusServer>> HttpStatusServer::Start(Options options) {
  auto self = std::unique_ptr<HttpStatusServer>(new HttpStatusServer());
  self->server_ = std::make_unique<httplib::Server>();
  httplib::Server& server = *self->server_;
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

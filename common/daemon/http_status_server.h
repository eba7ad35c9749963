// The read-only HTTP endpoints every daemon serves: /healthz, /status (JSON),
// /metrics (Prometheus text) and any pages the daemon adds (the
// coordinator's dashboard), on a port of their own, over HTTP or HTTPS and
// with or without the cluster token (HttpSecurity). Handlers are callbacks
// owned by the daemon; this class knows nothing of what they report. Only
// GET exists: no endpoint changes state.
#ifndef PETREL_COMMON_DAEMON_HTTP_STATUS_SERVER_H_
#define PETREL_COMMON_DAEMON_HTTP_STATUS_SERVER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace petrel {

// What a page handler answers. A status other than 200 carries a short
// plain-text message in `body`.
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// A page's query parameters (?job=job-1 -> {"job": "job-1"}).
using HttpQuery = std::map<std::string, std::string>;

// How the endpoints are protected; HttpSecurityFor (common/rpc.h) decides
// it from the bind address and the process's transport security
// (docs/security.md, "HTTP endpoints").
struct HttpSecurity {
  // Both set: HTTPS with this certificate (PEM); both empty: plain HTTP.
  std::string cert_pem, key_pem;
  // Set: every page but /healthz needs it, as `Authorization: Bearer TOKEN`
  // or HTTP Basic with any user name and TOKEN as the password (so a
  // browser asks for it). Anything else is 401 and shows nothing.
  std::string token;
};

class HttpStatusServer {
 public:
  struct Page {
    std::string path;  // exact, e.g. "/" or "/api/jobs"
    std::function<HttpReply(const HttpQuery&)> handler;
  };
  struct Options {
    std::string host = "127.0.0.1";  // read-only, but local unless told otherwise
    int port = 0;                    // 0: the OS picks
    // Returns the /status document (a JSON object, serialised).
    std::function<std::string()> status_json;
    // Returns the /metrics document (Prometheus text format 0.0.4).
    std::function<std::string()> metrics_text;
    std::vector<Page> pages;
    HttpSecurity security;
  };

  // Binds and starts serving on a thread of its own. A port in use, or a
  // certificate that does not load, is an error that names it.
  static absl::StatusOr<std::unique_ptr<HttpStatusServer>> Start(Options options);
  ~HttpStatusServer();  // stops serving

  int port() const { return port_; }
  bool https() const { return https_; }

 private:
  HttpStatusServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  bool https_ = false;
};

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_HTTP_STATUS_SERVER_H_

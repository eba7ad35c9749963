// The read-only HTTP endpoints every daemon serves: /healthz and /status
// (JSON), on a port of their own. Handlers are callbacks owned by the daemon;
// this class knows nothing of what they report.
#ifndef PETREL_COMMON_HTTP_STATUS_SERVER_H_
#define PETREL_COMMON_HTTP_STATUS_SERVER_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace petrel {

class HttpStatusServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";  // read-only, but local unless told otherwise
    int port = 0;                    // 0: the OS picks
    // Returns the /status document (a JSON object, serialised).
    std::function<std::string()> status_json;
  };

  // Binds and starts serving on a thread of its own. A port in use is an
  // error that names it.
  static absl::StatusOr<std::unique_ptr<HttpStatusServer>> Start(Options options);
  ~HttpStatusServer();  // stops serving

  int port() const { return port_; }

 private:
  HttpStatusServer() = default;

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace petrel

#endif  // PETREL_COMMON_HTTP_STATUS_SERVER_H_

// Where a daemon listens and how it reaches the coordinator; shared by the
// server and worker daemons (the coordinator uses the listening part).
#ifndef PETREL_COMMON_DAEMON_OPTIONS_H_
#define PETREL_COMMON_DAEMON_OPTIONS_H_

#include <string>

#include "absl/time/time.h"

namespace petrel {

struct ListenOptions {
  std::string host = "127.0.0.1";  // gRPC bind address ("0.0.0.0" for a real cluster)
  int port = 0;                    // 0: the OS picks
  std::string http_host = "127.0.0.1";
  int http_port = 0;
  // The host others dial; defaults to `host`, or this machine's name when
  // `host` is a wildcard.
  std::string advertise_host;
};

// host:port others use to reach a daemon listening per `listen` on `port`.
std::string AdvertisedAddress(const ListenOptions& listen, int port);

}  // namespace petrel

#endif  // PETREL_COMMON_DAEMON_OPTIONS_H_

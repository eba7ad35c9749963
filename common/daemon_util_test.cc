#define CATCH_CONFIG_MAIN
#include "common/daemon_util.h"

#include "catch2/catch.hpp"
#include "common/daemon_options.h"

namespace petrel {
namespace {

TEST_CASE("a daemon advertises what others can dial") {
  ListenOptions listen;
  listen.host = "10.1.2.3";
  CHECK(AdvertisedAddress(listen, 7071, "127.0.0.1:7070") == "10.1.2.3:7071");
  listen.advertise_host = "ps1.example";
  CHECK(AdvertisedAddress(listen, 7071, "127.0.0.1:7070") == "ps1.example:7071");
  // Bound to every interface: the one that routes to the coordinator.
  listen.advertise_host.clear();
  listen.host = "0.0.0.0";
  CHECK(AdvertisedAddress(listen, 7071, "127.0.0.1:7070") == "127.0.0.1:7071");
  // No coordinator to route to (the coordinator itself): the host name.
  CHECK(AdvertisedAddress(listen, 7071) == HostName() + ":7071");
  listen.http_host = "0.0.0.0";
  CHECK(AdvertisedHttpAddress(listen, 8071, "127.0.0.1:7070") == "127.0.0.1:8071");
  listen.http_host = "127.0.0.1";
  CHECK(AdvertisedHttpAddress(listen, 8071, "10.9.9.9:7070") == "127.0.0.1:8071");
}

TEST_CASE("LocalAddressTowards asks the routing table, and says when it cannot") {
  CHECK(LocalAddressTowards("127.0.0.1:7070") == "127.0.0.1");
  CHECK(LocalAddressTowards("no-such-host.invalid:7070").empty());
  CHECK(LocalAddressTowards("missing-port").empty());
}

}  // namespace
}  // namespace petrel

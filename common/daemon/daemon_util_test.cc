#define CATCH_CONFIG_MAIN
#include "common/daemon/daemon_util.h"

#include <sstream>

#include "absl/strings/match.h"
#include "catch2/catch.hpp"
#include "common/daemon/daemon_options.h"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

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

TEST_CASE("each daemon logger keeps its own role and id, and leaves the default logger alone") {
  std::ostringstream first_out, second_out, default_out;
  auto default_sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(default_out);
  default_sink->set_pattern("%v");
  auto saved_default = spdlog::default_logger();
  spdlog::set_default_logger(std::make_shared<spdlog::logger>("default", default_sink));

  auto first = NewDaemonLogger("server", std::make_shared<spdlog::sinks::ostream_sink_mt>(first_out));
  auto second =
      NewDaemonLogger("server", std::make_shared<spdlog::sinks::ostream_sink_mt>(second_out));
  first->info("before registration");
  SetDaemonLoggerId(*first, "server", "server-0");
  SetDaemonLoggerId(*second, "server", "server-1");
  first->info("from the first");
  second->info("from the second");
  spdlog::info("from a component");

  CHECK(absl::StrContains(first_out.str(), "[server] before registration"));
  CHECK(absl::StrContains(first_out.str(), "[server server-0] from the first"));
  CHECK(absl::StrContains(second_out.str(), "[server server-1] from the second"));
  CHECK_FALSE(absl::StrContains(first_out.str(), "server-1"));
  CHECK_FALSE(absl::StrContains(second_out.str(), "server-0"));
  // The default logger's pattern is untouched by either.
  CHECK(default_out.str() == "from a component\n");
  spdlog::set_default_logger(saved_default);
}

}  // namespace
}  // namespace petrel

// The placement filter by cluster.device and the reasons it gives.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "coordinator/device_placement.h"

namespace petrel::coordinator {
namespace {

Node WorkerOffering(const std::string& id, std::vector<std::string> devices) {
  Node node;
  node.id = id;
  node.role = WORKER;
  for (const std::string& d : devices) node.info.add_devices(d);
  return node;
}

using Devices = std::vector<std::string>;

TEST_CASE("what a worker offers: its list, or the device its description names") {
  RegisterRequest listed;
  listed.set_device("cpu (OpenBLAS, 1 threads)");
  listed.add_devices("cpu");
  listed.add_devices("cuda:0");
  CHECK(OfferedDevices(listed) == Devices{"cpu", "cuda:0"});
  RegisterRequest old;
  old.set_device("cuda:1 (NVIDIA A100, 39.4 GiB, sm_80)");
  CHECK(OfferedDevices(old) == Devices{"cuda:1"});
  old.set_device("cpu (OpenBLAS, 2 threads)");
  CHECK(OfferedDevices(old) == Devices{"cpu"});
  CHECK(OfferedDevices(RegisterRequest()) == Devices{"cpu"});  // says nothing: the CPU
}

TEST_CASE("auto takes anyone; cpu and cuda:N only those that offer them") {
  CHECK(CanTrainOn({"cpu"}, "auto"));
  CHECK(CanTrainOn({"cpu"}, ""));
  CHECK(CanTrainOn({"cuda:0"}, "auto"));
  CHECK(CanTrainOn({"cpu"}, "cpu"));
  CHECK_FALSE(CanTrainOn({"cpu"}, "cuda:0"));
  CHECK_FALSE(CanTrainOn({"cuda:0"}, "cpu"));
  CHECK_FALSE(CanTrainOn({"cpu", "cuda:0"}, "cuda:1"));
  CHECK(CanTrainOn({"cpu", "cuda:0", "cuda:1"}, "cuda:1"));
  CHECK_FALSE(CanTrainOn({}, "cpu"));
}

TEST_CASE("WorkersFor keeps the order of the able ones") {
  Node a = WorkerOffering("worker-0", {"cpu"});
  Node b = WorkerOffering("worker-1", {"cpu", "cuda:0"});
  Node c = WorkerOffering("worker-2", {"cuda:0"});
  const std::vector<const Node*> all = {&a, &b, &c};
  CHECK(WorkersFor("cuda:0", all) == std::vector<const Node*>{&b, &c});
  CHECK(WorkersFor("cpu", all) == std::vector<const Node*>{&a, &b});
  CHECK(WorkersFor("auto", all) == all);
  CHECK(WorkersFor("cuda:7", all).empty());
}

TEST_CASE("the reasons a job waits") {
  Node a = WorkerOffering("worker-0", {"cpu"});
  Node b = WorkerOffering("worker-1", {"cpu"});
  Node g = WorkerOffering("worker-2", {"cpu", "cuda:0"});
  ClusterSpec shape;
  shape.set_servers(2);
  shape.set_workers(2);
  shape.set_device("cuda:0");
  CHECK(WhyWaiting(shape, 2, {&a, &b}, {&a, &b}) ==
        "waiting for 2 workers with cuda:0; registered: 2 with cpu only");
  CHECK(WhyWaiting(shape, 1, {}, {}) ==
        "waiting for 2 servers; 1 alive; waiting for 2 workers with cuda:0; registered: none");
  CHECK(DescribeOffers({&a, &g, &b}) == "2 with cpu only, 1 with cpu+cuda:0");
  shape.set_device("auto");
  CHECK(WhyWaiting(shape, 2, {&a, &b, &g}, {&a}) ==
        "waiting for 2 idle workers; 3 alive, 1 idle");
  CHECK(WhyWaiting(shape, 2, {&a, &b}, {&a, &b}).empty());
  shape.set_device("cpu");
  CHECK(WhyWaiting(shape, 2, {&a, &b, &g}, {&g}) ==
        "waiting for 2 idle workers with cpu; 3 offer it, 1 of them idle");
}

}  // namespace
}  // namespace petrel::coordinator

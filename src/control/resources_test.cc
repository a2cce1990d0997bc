#include "control/resources.h"

#include <gtest/gtest.h>

#include "control/testing/ecs_fixture.h"

namespace berth::control {
namespace {

using nlohmann::json;

json agentResources(int cpu = 2048, int memory = 3900) { return test::instanceResources(cpu, memory, {"22", "2376", "2375", "51678", "51679"}); }

TEST(ResourcesTest, ParsesAndRendersEcsResourceShape) {
  auto r = parseResources(agentResources());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->cpu, 2048);
  EXPECT_EQ(r->memory, 3900);
  EXPECT_EQ(r->ports, (std::set<int>{22, 2375, 2376, 51678, 51679}));
  json out = renderResources(*r);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[0], (json{{"name", "CPU"}, {"type", "INTEGER"}, {"doubleValue", 0.0}, {"longValue", 0}, {"integerValue", 2048}}));
  EXPECT_EQ(out[1]["name"], "MEMORY");
  EXPECT_EQ(out[2]["type"], "STRINGSET");
  EXPECT_EQ(out[2]["stringSetValue"], (json{"22", "2375", "2376", "51678", "51679"}));  // numeric order
  EXPECT_EQ(out[3]["stringSetValue"], json::array());
  // Round trip.
  auto again = parseResources(out);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->cpu, 2048);
  EXPECT_EQ(again->ports, r->ports);
}

TEST(ResourcesTest, RejectsMissingCpuOrBadPorts) {
  EXPECT_FALSE(parseResources(json::array({{{"name", "CPU"}, {"type", "INTEGER"}, {"integerValue", 1}}})).ok());
  json bad = agentResources();
  bad[2]["stringSetValue"] = {"22", "http"};
  EXPECT_FALSE(parseResources(bad).ok());
  bad = agentResources();
  bad[0]["integerValue"] = -5;
  EXPECT_FALSE(parseResources(bad).ok());
  bad = agentResources();
  bad[2]["type"] = "INTEGER";
  EXPECT_FALSE(parseResources(bad).ok());
}

json td(const std::string& networkMode = "") {
  json d = {{"family", "web"},
            {"containerDefinitions",
             {{{"name", "app"}, {"image", "busybox"}, {"cpu", 256}, {"memory", 512}, {"memoryReservation", 128},
               {"portMappings", {{{"containerPort", 80}, {"hostPort", 8080}, {"protocol", "tcp"}},
                                 {{"containerPort", 53}, {"hostPort", 5353}, {"protocol", "udp"}},
                                 {{"containerPort", 81}, {"hostPort", 0}, {"protocol", "tcp"}}}}},
              {{"name", "side"}, {"image", "busybox"}, {"cpu", 10}, {"memory", 64}}}}};
  if (!networkMode.empty()) d["networkMode"] = networkMode;
  return d;
}

TEST(ResourcesTest, TaskDemandSumsContainersAndStaticPorts) {
  auto d = taskDemand(td(), json::object());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cpu, 266);
  EXPECT_EQ(d->memory, 128 + 64);  // reservation wins over the hard limit
  EXPECT_EQ(d->ports, std::set<int>{8080});  // dynamic 0 reserves nothing
  EXPECT_EQ(d->portsUdp, std::set<int>{5353});
}

TEST(ResourcesTest, TaskLevelSizeAndOverridesWin) {
  json t = td();
  t["cpu"] = "1 vCPU";
  t["memory"] = "1GB";
  auto d = taskDemand(t, json::object());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cpu, 1024);
  EXPECT_EQ(d->memory, 1024);
  d = taskDemand(t, json{{"cpu", "512"}, {"memory", "2048"}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cpu, 512);
  EXPECT_EQ(d->memory, 2048);
  d = taskDemand(td(), json{{"containerOverrides", {{{"name", "side"}, {"cpu", 100}, {"memory", 300}}}}});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->cpu, 356);
  EXPECT_EQ(d->memory, 128 + 300);
  EXPECT_FALSE(taskDemand(td(), json{{"cpu", "lots"}}).ok());
}

TEST(ResourcesTest, AwsvpcHoldsNoHostPortsHostModeDoes) {
  auto d = taskDemand(td("awsvpc"), json::object());
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->ports.empty());
  json host = td("host");
  host["containerDefinitions"][0]["portMappings"] = {{{"containerPort", 9000}, {"hostPort", 9000}}};
  d = taskDemand(host, json::object());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->ports, std::set<int>{9000});
}

TEST(ResourcesTest, ShortfallReserveReleaseAreExact) {
  auto registered = *parseResources(agentResources(1024, 1000));
  InstanceResources remaining = registered;
  TaskDemand d{512, 400, {8080}, {}};
  EXPECT_FALSE(shortfall(remaining, d));
  reserve(remaining, d);
  EXPECT_EQ(remaining.cpu, 512);
  EXPECT_EQ(remaining.memory, 600);
  EXPECT_TRUE(remaining.ports.count(8080));
  EXPECT_EQ(shortfall(remaining, d), "RESOURCE:PORTS");
  EXPECT_EQ(shortfall(remaining, TaskDemand{600, 1, {}, {}}), "RESOURCE:CPU");
  EXPECT_EQ(shortfall(remaining, TaskDemand{1, 601, {}, {}}), "RESOURCE:MEMORY");
  EXPECT_EQ(shortfall(remaining, TaskDemand{1, 1, {22}, {}}), "RESOURCE:PORTS");  // reserved at registration
  EXPECT_FALSE(shortfall(remaining, TaskDemand{1, 1, {}, {22}}));                 // UDP 22 is free
  release(remaining, registered, d);
  EXPECT_EQ(remaining.cpu, registered.cpu);
  EXPECT_EQ(remaining.memory, registered.memory);
  EXPECT_EQ(remaining.ports, registered.ports);
  // A release without a reserve never shows more than registered, and keeps registration ports.
  release(remaining, registered, TaskDemand{100, 100, {22}, {}});
  EXPECT_EQ(remaining.cpu, registered.cpu);
  EXPECT_TRUE(remaining.ports.count(22));
}

TEST(ResourcesTest, DemandJsonRoundTrip) {
  TaskDemand d{128, 256, {80, 443}, {53}};
  auto back = TaskDemand::fromJson(d.toJson());
  EXPECT_EQ(back.cpu, 128);
  EXPECT_EQ(back.memory, 256);
  EXPECT_EQ(back.ports, d.ports);
  EXPECT_EQ(back.portsUdp, d.portsUdp);
}

TEST(ResourcesTest, UnreservedBoundPortsAreTheOnesNobodyHoldsYet) {
  InstanceResources remaining;
  remaining.ports = {22, 8080};
  remaining.portsUdp = {53};
  json bindings = {{{"bindIP", "0.0.0.0"}, {"containerPort", 80}, {"hostPort", 32768}, {"protocol", "tcp"}},
                   {{"bindIP", "0.0.0.0"}, {"containerPort", 81}, {"hostPort", 8080}, {"protocol", "tcp"}},  // already held
                   {{"containerPort", 53}, {"hostPort", 53}, {"protocol", "udp"}},                             // already held
                   {{"containerPort", 5353}, {"hostPort", 40000}, {"protocol", "udp"}},
                   {{"containerPort", 90}, {"hostPort", 32769}},                                                // tcp by default
                   {{"containerPort", 91}, {"hostPort", 0}},                                                    // not bound
                   {{"containerPort", 92}, {"hostPort", 70000}},                                                // not a port
                   {{"containerPort", 93}}};
  TaskDemand d = unreservedBoundPorts(bindings, remaining);
  EXPECT_EQ(d.ports, (std::set<int>{32768, 32769}));
  EXPECT_EQ(d.portsUdp, (std::set<int>{40000}));
  EXPECT_EQ(d.cpu, 0);
  EXPECT_EQ(d.memory, 0);
  EXPECT_TRUE(hasPorts(d));
  EXPECT_FALSE(hasPorts(unreservedBoundPorts(json::array(), remaining)));
  EXPECT_FALSE(hasPorts(unreservedBoundPorts(json(), remaining)));

  TaskDemand reserved;
  reserved.memory = 128;
  reserved.ports = {8080};
  addPorts(reserved, d);
  EXPECT_EQ(reserved.ports, (std::set<int>{8080, 32768, 32769}));
  EXPECT_EQ(reserved.portsUdp, (std::set<int>{40000}));
  EXPECT_EQ(reserved.memory, 128);
}

}  // namespace
}  // namespace berth::control

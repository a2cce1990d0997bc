// CniTaskNetworking's bookkeeping with fake plugins, namespaces and bridge:
// no root needed. The real thing is exercised by cni_root_test.
#include "network/cni_task_networking.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>

#include "common/fs_util.h"

namespace berth::network {
namespace {

std::string envValue(const CniExecRequest& req, const std::string& name) {
  for (const auto& e : req.env)
    if (e.rfind(name + "=", 0) == 0) return e.substr(name.size() + 1);
  return "";
}

bool exists(const std::string& p) { return access(p.c_str(), F_OK) == 0; }

// A little fake "host": plugin calls, namespaces and bridges in memory.
struct FakeHost {
  std::string dataDir;
  std::vector<std::string> calls;                // "ADD bridge berth-t1"
  std::map<std::string, std::string> ipOf;       // containerId -> ip (host-local's view)
  std::set<std::string> namespaces;
  std::set<std::string> bridges;
  int nextIp = 2;
  std::string failAdd;                           // plugin type whose ADD fails
  bool recordSeenBeforeAdd = true;

  CniHostOps ops() {
    CniHostOps o;
    o.exec = [this](const CniExecRequest& req) -> Result<CniExecOutput> {
      const std::string cmd = envValue(req, "CNI_COMMAND");
      const std::string type = req.pluginPath.substr(req.pluginPath.rfind('/') + 1);
      const std::string id = envValue(req, "CNI_CONTAINERID");
      calls.push_back(cmd + " " + type + " " + id);
      auto conf = nlohmann::json::parse(req.stdinData);
      if (cmd == "ADD" && !exists(dataDir + "/cni/tasks/" + id.substr(6) + ".json")) recordSeenBeforeAdd = false;
      if (cmd == "ADD" && type == failAdd) return CniExecOutput{1, R"({"code":7,"msg":"boom"})", ""};
      if (cmd == "DEL") {
        if (type == "bridge") ipOf.erase(id);
        return CniExecOutput{0, "", ""};
      }
      if (type == "bridge") {
        std::string subnet = conf["ipam"]["ranges"][0][0]["subnet"];
        std::string prefix = subnet.substr(0, subnet.rfind('.') + 1);
        std::string ip = prefix + std::to_string(nextIp++);
        ipOf[id] = ip;
        nlohmann::json r = {{"cniVersion", "1.0.0"},
                            {"interfaces", {{{"name", conf["bridge"]}}, {{"name", "eth0"}, {"mac", "0a:58:00:00:00:01"},
                                                                          {"sandbox", envValue(req, "CNI_NETNS")}}}},
                            {"ips", {{{"interface", 1}, {"address", ip + "/24"}}}}};
        return CniExecOutput{0, r.dump(), ""};
      }
      return CniExecOutput{0, conf["prevResult"].dump(), ""};
    };
    o.netns.create = [this](const std::string& p) -> Status {
      namespaces.insert(p);
      return okStatus();
    };
    o.netns.remove = [this](const std::string& p) -> Status {
      namespaces.erase(p);
      return okStatus();
    };
    o.netns.alive = [this](const std::string& p) { return namespaces.count(p) > 0; };
    o.ensureBridge = [this](const std::string& b, const std::string&) -> Status {
      bridges.insert(b);
      return okStatus();
    };
    o.portProbe = [](const std::string&, int) { return true; };
    o.hostAddresses = [] { return std::vector<std::string>{"192.0.2.2"}; };
    return o;
  }
};

class CniTaskNetworkingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/bnet-unit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    host_.dataDir = tmpl;
    opts_.dataDir = tmpl;
    opts_.bridgeSubnet = "10.213.0.0/24";
    opts_.awsvpcSubnet = "10.214.0.0/24";
    opts_.dynamicPortRange = {50000, 50999};
    opts_.holdHostPortSockets = false;  // the fake probe decides what is free
  }
  void TearDown() override { (void)removeTree(host_.dataDir); }
  std::unique_ptr<CniTaskNetworking> open() {
    auto n = CniTaskNetworking::open(opts_, host_.ops());
    EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message);
    return n.ok() ? std::move(*n) : nullptr;
  }
  FakeHost host_;
  CniNetworkingOptions opts_;
};

TEST_F(CniTaskNetworkingTest, BridgeSetupRecordsFirstThenRunsTheChain) {
  auto net = open();
  auto n = net->setup({"t1", "arn:t1", "", {{"web", 80, 0, "tcp"}, {"web", 443, 8443, "tcp"}}});
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_TRUE(host_.recordSeenBeforeAdd);
  EXPECT_EQ(n->networkMode, "bridge");
  EXPECT_EQ(n->netnsPath, host_.dataDir + "/netns/t1");
  EXPECT_EQ(n->ipv4Address, "10.213.0.2");
  EXPECT_EQ(n->ipv4SubnetCidrBlock, "10.213.0.0/24");
  EXPECT_EQ(n->gatewayIpv4Address, "10.213.0.1");
  EXPECT_EQ(n->macAddress, "0a:58:00:00:00:01");
  EXPECT_EQ(n->interfaceName, "eth0");
  ASSERT_EQ(n->bindings.size(), 2u);
  EXPECT_GE(n->bindings[0].hostPort, 50000);
  EXPECT_EQ(n->bindings[1].hostPort, 8443);
  EXPECT_EQ(host_.calls, (std::vector<std::string>{"ADD bridge berth-t1", "ADD portmap berth-t1"}));
  EXPECT_TRUE(host_.bridges.count("berth0"));
  EXPECT_TRUE(host_.namespaces.count(n->netnsPath));
  // setup() again returns the same network (agent retry) without plugin calls.
  auto again = net->setup({"t1", "arn:t1", "bridge", {{"web", 80, 0, "tcp"}}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->bindings[0].hostPort, n->bindings[0].hostPort);
  EXPECT_EQ(host_.calls.size(), 2u);
}

TEST_F(CniTaskNetworkingTest, TeardownAfterRestartUsesTheRecordAndReleasesEverything) {
  int port = 0;
  {
    auto net = open();
    auto n = net->setup({"t1", "arn", "bridge", {{"web", 80, 0, "tcp"}}});
    ASSERT_TRUE(n.ok());
    port = n->bindings[0].hostPort;
  }
  auto net = open();  // "agent restart"
  auto rec = net->recover("t1");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->bindings[0].hostPort, port);
  auto clash = net->setup({"t2", "arn", "bridge", {{"web", 80, port, "tcp"}}});
  ASSERT_FALSE(clash.ok());
  EXPECT_EQ(clash.error().code, ErrorCode::kConflict);

  host_.calls.clear();
  ASSERT_TRUE(net->teardown("t1").ok());
  EXPECT_EQ(host_.calls, (std::vector<std::string>{"DEL portmap berth-t1", "DEL bridge berth-t1"}));
  EXPECT_TRUE(host_.namespaces.empty());
  EXPECT_TRUE(host_.ipOf.empty());
  EXPECT_FALSE(exists(host_.dataDir + "/cni/tasks/t1.json"));
  EXPECT_TRUE(net->teardown("t1").ok());  // idempotent
  EXPECT_EQ(host_.calls.size(), 2u);
  auto none = net->recover("t1");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_TRUE(net->setup({"t2", "arn", "bridge", {{"web", 80, port, "tcp"}}}).ok());  // port free again
}

TEST_F(CniTaskNetworkingTest, PluginFailureRollsBackAndNamesThePlugin) {
  host_.failAdd = "portmap";
  auto net = open();
  auto n = net->setup({"t1", "arn", "bridge", {{"web", 80, 9000, "tcp"}}});
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().code, ErrorCode::kInternal);
  EXPECT_EQ(n.error().message, "CNI plugin portmap ADD failed: boom [code 7]");
  EXPECT_EQ(host_.calls, (std::vector<std::string>{"ADD bridge berth-t1", "ADD portmap berth-t1", "DEL portmap berth-t1",
                                                   "DEL bridge berth-t1"}));
  EXPECT_TRUE(host_.namespaces.empty());
  EXPECT_TRUE(host_.ipOf.empty());
  EXPECT_TRUE(net->recordedTasks()->empty());
  host_.failAdd.clear();
  EXPECT_TRUE(net->setup({"t2", "arn", "bridge", {{"web", 80, 9000, "tcp"}}}).ok());  // port was released
}

TEST_F(CniTaskNetworkingTest, CrashMidSetupIsUndoneByTeardownFromANewObject) {
  // A record as a crashed setup leaves it: ports held, ADD never finished.
  TaskNetworkRecord r;
  r.taskId = "t9";
  r.networkMode = "bridge";
  r.netnsPath = host_.dataDir + "/netns/t9";
  r.containerId = "berth-t9";
  r.conflist = nlohmann::json::parse(R"({"cniVersion":"1.0.0","name":"berth-berth0","plugins":[{"type":"bridge"},{"type":"portmap"}]})");
  r.ports = {{"web", "0.0.0.0", 80, 50500, "tcp"}};
  ASSERT_TRUE(makeDirs(host_.dataDir + "/cni/tasks").ok());
  ASSERT_TRUE(TaskNetworkRecordStore(host_.dataDir + "/cni/tasks").save(r).ok());
  host_.namespaces.insert(r.netnsPath);

  auto net = open();
  EXPECT_EQ(*net->recordedTasks(), std::vector<std::string>{"t9"});
  auto rec = net->recover("t9");
  ASSERT_TRUE(rec.ok());
  EXPECT_FALSE(rec->has_value());  // unfinished: not a usable network
  EXPECT_FALSE(net->setup({"x", "arn", "bridge", {{"web", 80, 50500, "tcp"}}}).ok());  // still held
  ASSERT_TRUE(net->teardown("t9").ok());
  EXPECT_EQ(host_.calls, (std::vector<std::string>{"DEL portmap berth-t9", "DEL bridge berth-t9"}));
  EXPECT_TRUE(host_.namespaces.empty());
  EXPECT_TRUE(net->setup({"x", "arn", "bridge", {{"web", 80, 50500, "tcp"}}}).ok());
}

TEST_F(CniTaskNetworkingTest, FiftyTasksGetDistinctPortsAndAddresses) {
  auto net = open();
  std::set<int> ports;
  std::set<std::string> ips;
  for (int i = 0; i < 50; ++i) {
    auto n = net->setup({"task" + std::to_string(i), "arn", "bridge", {{"web", 80, 0, "tcp"}}});
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_TRUE(ports.insert(n->bindings[0].hostPort).second);
    EXPECT_TRUE(ips.insert(n->ipv4Address).second);
  }
  // Reopen: the held ports survive and new tasks avoid them.
  auto reopened = open();
  for (int i = 50; i < 60; ++i) {
    auto n = reopened->setup({"task" + std::to_string(i), "arn", "bridge", {{"web", 80, 0, "tcp"}}});
    ASSERT_TRUE(n.ok());
    EXPECT_TRUE(ports.insert(n->bindings[0].hostPort).second) << n->bindings[0].hostPort;
  }
}

TEST_F(CniTaskNetworkingTest, AwsvpcNoneAndHostModes) {
  auto net = open();
  auto v = net->setup({"v1", "arn", "awsvpc", {{"web", 80, 0, "tcp"}}});
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_TRUE(v->bindings.empty());
  EXPECT_EQ(v->ipv4SubnetCidrBlock, "10.214.0.0/24");
  EXPECT_TRUE(host_.bridges.count("berth-vpc0"));
  EXPECT_EQ(host_.calls.back(), "ADD bridge berth-v1");  // no portmap
  EXPECT_FALSE(net->setup({"v2", "arn", "awsvpc", {{"web", 80, 81, "tcp"}}}).ok());

  host_.calls.clear();
  auto none = net->setup({"n1", "arn", "none", {}});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(host_.calls.empty());
  EXPECT_TRUE(host_.namespaces.count(none->netnsPath));
  EXPECT_TRUE(none->ipv4Address.empty());
  EXPECT_EQ(net->setup({"n2", "arn", "none", {{"web", 80, 0, "tcp"}}}).error().code, ErrorCode::kInvalidParameter);
  ASSERT_TRUE(net->teardown("n1").ok());
  EXPECT_FALSE(host_.namespaces.count(none->netnsPath));

  auto h = net->setup({"h1", "arn", "host", {{"web", 8080, 0, "tcp"}}});
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE(h->netnsPath.empty());
  EXPECT_EQ(h->ipv4Address, "192.0.2.2");
  EXPECT_EQ(h->bindings[0].hostPort, 8080);
  auto h2 = net->setup({"h2", "arn", "host", {{"web", 8080, 0, "tcp"}}});
  ASSERT_FALSE(h2.ok());
  EXPECT_EQ(h2.error().code, ErrorCode::kConflict);
  ASSERT_TRUE(net->teardown("h1").ok());
  EXPECT_TRUE(net->setup({"h2", "arn", "host", {{"web", 8080, 0, "tcp"}}}).ok());
  EXPECT_TRUE(host_.calls.empty());
}

TEST_F(CniTaskNetworkingTest, RejectsBadInput) {
  auto net = open();
  EXPECT_EQ(net->setup({"../x", "arn", "bridge", {}}).error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(net->setup({"t", "arn", "nat", {}}).error().code, ErrorCode::kInvalidParameter);
  opts_.awsvpcSubnet = "10.213.0.128/25";
  EXPECT_FALSE(CniTaskNetworking::open(opts_, host_.ops()).ok());  // overlapping subnets
  opts_.awsvpcSubnet = "10.214.0.0/24";
  opts_.dataDir = "relative";
  EXPECT_FALSE(CniTaskNetworking::open(opts_, host_.ops()).ok());
}

}  // namespace
}  // namespace berth::network

#include "network/cni_invoker.h"

#include <gtest/gtest.h>

namespace berth::network {
namespace {

std::string envValue(const CniExecRequest& req, const std::string& name) {
  for (const auto& e : req.env)
    if (e.rfind(name + "=", 0) == 0) return e.substr(name.size() + 1);
  return "";
}

// Records every call; each ADD returns a result naming the plugin.
struct FakePlugins {
  std::vector<CniExecRequest> calls;
  std::string failType;  // plugin whose ADD fails
  CniExec exec() {
    return [this](const CniExecRequest& req) -> Result<CniExecOutput> {
      calls.push_back(req);
      std::string type = req.pluginPath.substr(req.pluginPath.rfind('/') + 1);
      if (type == failType && envValue(req, "CNI_COMMAND") == "ADD")
        return CniExecOutput{1, R"({"cniVersion":"1.0.0","code":11,"msg":"failed to allocate","details":"range full"})", ""};
      if (envValue(req, "CNI_COMMAND") == "DEL") return CniExecOutput{0, "", ""};
      nlohmann::json r = {{"cniVersion", "1.0.0"}, {"by", type}};
      return CniExecOutput{0, r.dump(), ""};
    };
  }
  nlohmann::json stdinOf(std::size_t i) const { return nlohmann::json::parse(calls.at(i).stdinData); }
};

nlohmann::json conflist() {
  return nlohmann::json::parse(R"({"cniVersion":"1.0.0","name":"net1","plugins":[
    {"type":"bridge","bridge":"br0","ipam":{"type":"host-local"}},
    {"type":"portmap","snat":true,"capabilities":{"portMappings":true}},
    {"type":"tuning","capabilities":{"bandwidth":false}}]})");
}

TEST(CniInvokerTest, AddChainsPrevResultAndPassesEnvironment) {
  FakePlugins fake;
  CniInvoker inv("/opt/cni", fake.exec());
  CniRuntime rt{"ctr1", "/data/netns/t1", "eth0",
                {{"portMappings", nlohmann::json::array({{{"hostPort", 5000}, {"containerPort", 80}, {"protocol", "tcp"}}})},
                 {"bandwidth", {{"rate", 1}}}}};
  auto r = inv.add(conflist(), rt);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ((*r)["by"], "tuning");  // the last plugin's result is the network's
  ASSERT_EQ(fake.calls.size(), 3u);
  EXPECT_EQ(fake.calls[0].pluginPath, "/opt/cni/bridge");
  EXPECT_EQ(fake.calls[1].pluginPath, "/opt/cni/portmap");
  EXPECT_EQ(envValue(fake.calls[0], "CNI_COMMAND"), "ADD");
  EXPECT_EQ(envValue(fake.calls[0], "CNI_CONTAINERID"), "ctr1");
  EXPECT_EQ(envValue(fake.calls[0], "CNI_NETNS"), "/data/netns/t1");
  EXPECT_EQ(envValue(fake.calls[0], "CNI_IFNAME"), "eth0");
  EXPECT_EQ(envValue(fake.calls[0], "CNI_PATH"), "/opt/cni");

  auto first = fake.stdinOf(0);
  EXPECT_FALSE(first.contains("prevResult"));
  EXPECT_EQ(first["name"], "net1");
  EXPECT_EQ(first["cniVersion"], "1.0.0");
  EXPECT_FALSE(first.contains("runtimeConfig"));  // bridge declares no capabilities
  auto second = fake.stdinOf(1);
  EXPECT_EQ(second["prevResult"]["by"], "bridge");
  EXPECT_EQ(second["runtimeConfig"]["portMappings"][0]["hostPort"], 5000);
  EXPECT_FALSE(second.contains("capabilities"));
  auto third = fake.stdinOf(2);
  EXPECT_EQ(third["prevResult"]["by"], "portmap");
  EXPECT_FALSE(third.contains("runtimeConfig"));  // capability declared false
}

TEST(CniInvokerTest, AddStopsAtTheFailingPluginWithItsMessage) {
  FakePlugins fake;
  fake.failType = "bridge";
  CniInvoker inv("/opt/cni", fake.exec());
  auto r = inv.add(conflist(), {"c", "/ns", "eth0", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(fake.calls.size(), 1u);
  EXPECT_EQ(r.error().code, ErrorCode::kInternal);
  EXPECT_EQ(r.error().message, "CNI plugin bridge ADD failed: failed to allocate (range full) [code 11]");
}

TEST(CniInvokerTest, DelRunsInReverseWithTheCachedResultAndKeepsGoingOnErrors) {
  FakePlugins fake;
  CniExec exec = fake.exec();
  int n = 0;
  CniInvoker inv("/opt/cni", [&](const CniExecRequest& req) -> Result<CniExecOutput> {
    auto out = exec(req);
    if (n++ == 0) return CniExecOutput{2, "", "iptables: lock held\n"};  // tuning DEL fails
    return out;
  });
  nlohmann::json cached = {{"cniVersion", "1.0.0"}, {"ips", nlohmann::json::array()}};
  auto st = inv.del(conflist(), {"c", "/ns", "eth0", {}}, cached);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message, "CNI plugin tuning DEL failed (exit 2): iptables: lock held");
  ASSERT_EQ(fake.calls.size(), 3u);
  EXPECT_EQ(fake.calls[0].pluginPath, "/opt/cni/tuning");
  EXPECT_EQ(fake.calls[1].pluginPath, "/opt/cni/portmap");
  EXPECT_EQ(fake.calls[2].pluginPath, "/opt/cni/bridge");
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(envValue(fake.calls[i], "CNI_COMMAND"), "DEL");
    EXPECT_EQ(fake.stdinOf(i)["prevResult"], cached);
  }
}

TEST(CniInvokerTest, DelWithoutCachedResultSendsNoPrevResult) {
  FakePlugins fake;
  CniInvoker inv("/opt/cni", fake.exec());
  ASSERT_TRUE(inv.del(conflist(), {"c", "/ns", "eth0", {}}, nullptr).ok());
  EXPECT_FALSE(fake.stdinOf(0).contains("prevResult"));
}

TEST(CniInvokerTest, RejectsPluginTypesThatAreNotPlainNames) {
  FakePlugins fake;
  CniInvoker inv("/opt/cni", fake.exec());
  auto bad = nlohmann::json::parse(R"({"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]})");
  EXPECT_FALSE(inv.add(bad, {"c", "/ns", "eth0", {}}).ok());
  EXPECT_TRUE(fake.calls.empty());
}

TEST(CniInvokerTest, ErrorWithoutJsonUsesStderrAndExitCode) {
  auto e = cniPluginError("portmap", "ADD", {137, "", "killed\n"});
  EXPECT_EQ(e.message, "CNI plugin portmap ADD failed (exit 137): killed");
}

TEST(CniInvokerTest, NonJsonAddOutputIsAnError) {
  CniInvoker inv("/opt/cni", [](const CniExecRequest&) -> Result<CniExecOutput> { return CniExecOutput{0, "ok", ""}; });
  auto r = inv.add(conflist(), {"c", "/ns", "eth0", {}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("bridge ADD returned no JSON"), std::string::npos);
}

}  // namespace
}  // namespace berth::network

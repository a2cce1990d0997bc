// Real networks with the Debian CNI plugins. Needs root, /usr/lib/cni,
// iptables, nsenter and busybox; skips otherwise. Every test uses its own
// bridges and subnets (named after the pid) and removes them even on failure.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "common/fs_util.h"
#include "common/unique_fd.h"
#include "network/bridge_device.h"
#include "network/cni_task_networking.h"
#include "runtime/subprocess.h"

namespace berth::network {
namespace {

using Clock = std::chrono::steady_clock;

std::string run(const std::vector<std::string>& argv) {
  auto r = runWithInput(argv, {}, "", std::chrono::seconds(10));
  return r ? r->out + r->err : "ERROR " + r.error().message;
}

std::string readSysctl(const std::string& path) {
  std::ifstream in(path);
  std::string v;
  in >> v;
  return v;
}

// HTTP GET / from the host with bounded connect/read times; "" on failure.
std::string httpGet(const std::string& ip, int port) {
  UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval tv{3, 0};
  setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  if (connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "";
  const std::string req = "GET /index.html HTTP/1.0\r\nHost: x\r\n\r\n";
  if (write(s.get(), req.data(), req.size()) != static_cast<ssize_t>(req.size())) return "";
  std::string out;
  char buf[4096];
  for (int i = 0; i < 100; ++i) {
    ssize_t n = read(s.get(), buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  auto body = out.find("\r\n\r\n");
  return body == std::string::npos ? "" : out.substr(body + 4);
}

// Polls httpGet until it returns `want` (the server needs a moment to bind).
bool serves(const std::string& ip, int port, const std::string& want) {
  for (int i = 0; i < 50; ++i) {
    if (httpGet(ip, port) == want) return true;
    usleep(100 * 1000);
  }
  return false;
}

class CniRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    for (const char* p : {"/usr/lib/cni/bridge", "/usr/lib/cni/portmap", "/usr/lib/cni/host-local", "/usr/bin/nsenter",
                          "/usr/bin/busybox", "/usr/sbin/iptables", "/usr/sbin/ip"})
      if (access(p, X_OK) != 0) GTEST_SKIP() << p << " missing";
    // /26 slots keyed by pid: parallel ctest processes get distinct subnets
    // (1024 slots), each with room for the 50-task test.
    const int slot = getpid() % 1024;
    const std::string hostPart = std::to_string(slot / 4) + "." + std::to_string(slot % 4 * 64);
    tag_ = "bnet" + std::to_string(getpid() % 1000000);
    opts_.bridgeName = tag_ + "b";
    opts_.awsvpcBridgeName = tag_ + "v";
    opts_.bridgeSubnet = "10.231." + hostPart + "/26";
    opts_.awsvpcSubnet = "10.232." + hostPart + "/26";
    bridgeGateway_ = "10.231." + std::to_string(slot / 4) + "." + std::to_string(slot % 4 * 64 + 1);
    char tmpl[] = "/tmp/bnet-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    opts_.dataDir = tmpl;
    forwardBefore_ = readSysctl("/proc/sys/net/ipv4/ip_forward");
    net_ = open();
    ASSERT_NE(net_, nullptr);
  }

  void TearDown() override {
    for (pid_t pid : servers_) {
      kill(pid, SIGKILL);
      (void)runtime::waitForExit(pid, std::chrono::seconds(5));
    }
    if (net_) {
      auto ids = net_->recordedTasks();
      if (ids) for (const auto& id : *ids) EXPECT_TRUE(net_->teardown(id).ok()) << id;
    }
    // Namespaces a failed test may have left pinned.
    std::string nsDir = opts_.dataDir + "/netns";
    for (const auto& id : created_) (void)removePinnedNetns(nsDir + "/" + id);
    (void)removeBridge(opts_.bridgeName);
    (void)removeBridge(opts_.awsvpcBridgeName);
    if (!opts_.dataDir.empty()) (void)removeTree(opts_.dataDir);
  }

  std::unique_ptr<CniTaskNetworking> open(CniHostOps ops = {}) {
    auto n = CniTaskNetworking::open(opts_, std::move(ops));
    EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message);
    return n.ok() ? std::move(*n) : nullptr;
  }

  std::string taskId(const std::string& suffix) {
    std::string id = tag_ + "-" + suffix;
    created_.push_back(id);
    return id;
  }

  // busybox httpd inside the namespace serving index.html = `body`.
  void serve(const TaskNetwork& n, int port, const std::string& body) {
    std::string dir = opts_.dataDir + "/www-" + std::to_string(port) + "-" + body;
    ASSERT_TRUE(makeDirs(dir).ok());
    ASSERT_TRUE(writeFileAtomic(dir + "/index.html", body).ok());
    runtime::SpawnSpec spec;
    spec.argv = {"/usr/bin/nsenter", "--net=" + n.netnsPath, "/usr/bin/busybox", "httpd", "-f", "-p",
                 std::to_string(port), "-h", dir};
    auto pid = runtime::spawnProcess(spec);
    ASSERT_TRUE(pid.ok());
    servers_.push_back(*pid);
  }

  CniNetworkingOptions opts_;
  std::string tag_;
  std::string forwardBefore_;
  std::string bridgeGateway_;
  std::unique_ptr<CniTaskNetworking> net_;
  std::vector<pid_t> servers_;
  std::vector<std::string> created_;
};

TEST_F(CniRootTest, BridgeDynamicPortsServeOnLocalhostHostAddressAndTaskIp) {
  TaskNetworkRequest a{taskId("a"), "arn:a", "bridge", {{"web", 8080, 0, "tcp"}}};
  TaskNetworkRequest b{taskId("b"), "arn:b", "bridge", {{"web", 8080, 0, "tcp"}}};
  auto t0 = Clock::now();
  auto na = net_->setup(a);
  auto t1 = Clock::now();
  ASSERT_TRUE(na.ok()) << na.error().message;
  auto nb = net_->setup(b);
  ASSERT_TRUE(nb.ok()) << nb.error().message;
  std::printf("bridge setup (bridge exists): %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t1).count()));
  std::printf("bridge setup (first, creates bridge): %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count()));
  ASSERT_EQ(na->bindings.size(), 1u);
  ASSERT_EQ(nb->bindings.size(), 1u);
  const int pa = na->bindings[0].hostPort, pb = nb->bindings[0].hostPort;
  EXPECT_NE(pa, pb);
  // The port is held by a socket: nothing else on the host can take it.
  EXPECT_FALSE(hostPortFree("tcp", pa));
  EXPECT_GE(pa, opts_.dynamicPortRange.first);
  EXPECT_LE(pa, opts_.dynamicPortRange.last);
  EXPECT_NE(na->ipv4Address, nb->ipv4Address);
  EXPECT_EQ(na->gatewayIpv4Address, bridgeGateway_);
  EXPECT_FALSE(na->macAddress.empty());

  serve(*na, 8080, "task-a");
  serve(*nb, 8080, "task-b");
  EXPECT_TRUE(serves("127.0.0.1", pa, "task-a"));
  EXPECT_TRUE(serves("127.0.0.1", pb, "task-b"));
  EXPECT_TRUE(serves(na->ipv4Address, 8080, "task-a"));
  for (const auto& hostAddr : hostIpv4Addresses({}))
    if (hostAddr.rfind("10.23", 0) != 0) EXPECT_TRUE(serves(hostAddr, pb, "task-b")) << hostAddr;

  // Nothing leaves the machine: no default route in the task, forwarding untouched.
  std::string routes = run({"/usr/bin/nsenter", "--net=" + na->netnsPath, "/usr/sbin/ip", "-4", "route"});
  EXPECT_EQ(routes.find("default"), std::string::npos) << routes;
  EXPECT_EQ(readSysctl("/proc/sys/net/ipv4/ip_forward"), forwardBefore_);

  // Agent restart: a fresh object on the same data dir recovers and tears down.
  net_.reset();
  auto fresh = open();
  ASSERT_NE(fresh, nullptr);
  auto rec = fresh->recover(a.taskId);
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->bindings[0].hostPort, pa);
  // The surviving tasks' ports stay held across the restart.
  TaskNetworkRequest clash{taskId("c"), "arn:c", "bridge", {{"web", 80, pa, "tcp"}}};
  auto conflict = fresh->setup(clash);
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);

  // What teardown must remove exists now (so the checks below can fail).
  std::string natBefore = run({"/usr/sbin/iptables", "-t", "nat", "-S"});
  EXPECT_NE(natBefore.find("berth-" + a.taskId), std::string::npos) << natBefore;
  EXPECT_NE(natBefore.find("--to-destination " + na->ipv4Address + ":"), std::string::npos) << natBefore;
  EXPECT_EQ(access((opts_.dataDir + "/cni/ipam/berth-" + opts_.bridgeName + "/" + na->ipv4Address).c_str(), F_OK), 0);
  for (pid_t pid : servers_) kill(pid, SIGKILL);
  auto d0 = Clock::now();
  ASSERT_TRUE(fresh->teardown(a.taskId).ok());
  auto d1 = Clock::now();
  std::printf("bridge teardown: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d1 - d0).count()));
  ASSERT_TRUE(fresh->teardown(b.taskId).ok());
  EXPECT_TRUE(fresh->teardown(b.taskId).ok());  // idempotent
  EXPECT_NE(access(na->netnsPath.c_str(), F_OK), 0);
  EXPECT_NE(access(nb->netnsPath.c_str(), F_OK), 0);
  std::string nat = run({"/usr/sbin/iptables", "-t", "nat", "-S"});
  EXPECT_EQ(nat.find("berth-" + a.taskId), std::string::npos) << nat;
  EXPECT_EQ(nat.find("berth-" + b.taskId), std::string::npos) << nat;
  EXPECT_EQ(nat.find("--to-destination " + na->ipv4Address + ":"), std::string::npos) << nat;
  EXPECT_NE(access((opts_.dataDir + "/cni/ipam/berth-" + opts_.bridgeName + "/" + na->ipv4Address).c_str(), F_OK), 0);
  // (Not asserting hostPortFree(pa) here: parallel test processes allocate
  // from the same kernel range and may take the port as soon as it is free.)
  EXPECT_NE(httpGet("127.0.0.1", pa), "task-a");
  net_ = std::move(fresh);
}

TEST_F(CniRootTest, AwsvpcTaskServesOnItsOwnIp) {
  TaskNetworkRequest r{taskId("vpc"), "arn:v", "awsvpc", {{"web", 8081, 0, "tcp"}}};
  auto t0 = Clock::now();
  auto n = net_->setup(r);
  auto t1 = Clock::now();
  ASSERT_TRUE(n.ok()) << n.error().message;
  std::printf("awsvpc setup: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(t1 - t0).count()));
  EXPECT_TRUE(n->bindings.empty());
  EXPECT_EQ(n->ipv4SubnetCidrBlock, opts_.awsvpcSubnet);
  EXPECT_EQ(n->ipv4Address.rfind("10.232.", 0), 0u) << n->ipv4Address;
  serve(*n, 8081, "vpc");
  EXPECT_TRUE(serves(n->ipv4Address, 8081, "vpc"));
  auto d0 = Clock::now();
  ASSERT_TRUE(net_->teardown(r.taskId).ok());
  std::printf("awsvpc teardown: %lld ms\n", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                        Clock::now() - d0).count()));
  EXPECT_NE(access(n->netnsPath.c_str(), F_OK), 0);
}

TEST_F(CniRootTest, NoneHasOnlyLoopbackAndHostNeedsNoNamespace) {
  TaskNetworkRequest r{taskId("none"), "arn:n", "none", {}};
  auto t0 = Clock::now();
  auto n = net_->setup(r);
  ASSERT_TRUE(n.ok()) << n.error().message;
  std::printf("none setup: %lld ms\n", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                  Clock::now() - t0).count()));
  std::string links = run({"/usr/bin/nsenter", "--net=" + n->netnsPath, "/usr/sbin/ip", "-o", "link"});
  EXPECT_NE(links.find("lo:"), std::string::npos) << links;
  EXPECT_NE(links.find("UP"), std::string::npos) << links;  // lo is up
  EXPECT_EQ(std::count(links.begin(), links.end(), '\n'), 1) << links;
  ASSERT_TRUE(net_->teardown(r.taskId).ok());
  EXPECT_NE(access(n->netnsPath.c_str(), F_OK), 0);

  TaskNetworkRequest h{taskId("host"), "arn:h", "host", {{"web", 18080, 0, "tcp"}}};
  auto hn = net_->setup(h);
  ASSERT_TRUE(hn.ok()) << hn.error().message;
  EXPECT_TRUE(hn->netnsPath.empty());
  ASSERT_EQ(hn->bindings.size(), 1u);
  EXPECT_EQ(hn->bindings[0].hostPort, 18080);
  ASSERT_TRUE(net_->teardown(h.taskId).ok());
}

TEST_F(CniRootTest, FixedPortTakenOnTheHostIsAConflict) {
  // Something on the host listens on a port; a fixed hostPort there fails.
  UniqueFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(s.get(), 1), 0);
  socklen_t len = sizeof a;
  getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  const int busy = ntohs(a.sin_port);
  auto r = net_->setup({taskId("busy"), "arn", "bridge", {{"web", 80, busy, "tcp"}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kConflict);
  EXPECT_NE(r.error().message.find("RESOURCE:PORTS"), std::string::npos);
  EXPECT_NE(access((opts_.dataDir + "/netns/" + tag_ + "-busy").c_str(), F_OK), 0);
}

TEST_F(CniRootTest, PluginFailureRollsBackEverything) {
  CniHostOps ops;
  auto real = processCniExec(std::chrono::seconds(30));
  ops.exec = [real](const CniExecRequest& req) -> Result<CniExecOutput> {
    bool add = std::find(req.env.begin(), req.env.end(), "CNI_COMMAND=ADD") != req.env.end();
    if (add && req.pluginPath.ends_with("/portmap"))
      return CniExecOutput{1, R"({"code":999,"msg":"injected failure"})", ""};
    return real(req);
  };
  net_.reset();
  net_ = open(std::move(ops));
  ASSERT_NE(net_, nullptr);
  TaskNetworkRequest r{taskId("fail"), "arn", "bridge", {{"web", 8080, 0, "tcp"}}};
  auto n = net_->setup(r);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find("portmap"), std::string::npos) << n.error().message;
  EXPECT_NE(n.error().message.find("injected failure"), std::string::npos) << n.error().message;
  EXPECT_NE(access((opts_.dataDir + "/netns/" + r.taskId).c_str(), F_OK), 0);
  auto ids = net_->recordedTasks();
  ASSERT_TRUE(ids.ok());
  EXPECT_TRUE(ids->empty());
  // host-local released the address: only its bookkeeping files remain.
  std::string ipam = run({"/usr/bin/ls", opts_.dataDir + "/cni/ipam/berth-" + opts_.bridgeName});
  EXPECT_EQ(ipam.find("10.231."), std::string::npos) << ipam;
  std::string nat = run({"/usr/sbin/iptables", "-t", "nat", "-S"});
  EXPECT_EQ(nat.find("berth-" + r.taskId), std::string::npos) << nat;
}

TEST_F(CniRootTest, FiftyTasksInParallelNeverCollideAndLeaveNothingBehind) {
  constexpr int kTasks = 50, kThreads = 4;
  std::vector<Result<TaskNetwork>> results(kTasks, Error::make(ErrorCode::kInternal, "not run"));
  std::vector<std::string> ids;
  for (int i = 0; i < kTasks; ++i) ids.push_back(taskId("p" + std::to_string(i)));
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w)
    threads.emplace_back([&, w] {
      for (int i = w; i < kTasks; i += kThreads)
        results[i] = net_->setup({ids[i], "arn", "bridge", {{"web", 80, 0, "tcp"}, {"dns", 53, 0, "udp"}}});
    });
  for (auto& t : threads) t.join();
  std::printf("50 bridge setups, 4 threads: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count()));
  std::set<std::pair<std::string, int>> ports;
  std::set<std::string> ips;
  for (int i = 0; i < kTasks; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].error().message;
    for (const auto& b : results[i]->bindings) EXPECT_TRUE(ports.insert({b.protocol, b.hostPort}).second);
    EXPECT_TRUE(ips.insert(results[i]->ipv4Address).second);
  }
  EXPECT_EQ(ports.size(), 100u);
  // One of them really serves on its dynamic port.
  serve(*results[17], 80, "p17");
  EXPECT_TRUE(serves("127.0.0.1", results[17]->bindings[0].hostPort, "p17"));

  auto d0 = Clock::now();
  threads.clear();
  std::atomic<int> failures{0};
  for (int w = 0; w < kThreads; ++w)
    threads.emplace_back([&, w] {
      for (int i = w; i < kTasks; i += kThreads)
        if (!net_->teardown(ids[i]).ok()) ++failures;
    });
  for (auto& t : threads) t.join();
  std::printf("50 bridge teardowns, 4 threads: %lld ms\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - d0).count()));
  EXPECT_EQ(failures.load(), 0);
  std::string nat = run({"/usr/sbin/iptables", "-t", "nat", "-S"});
  EXPECT_EQ(nat.find("berth-" + tag_), std::string::npos) << nat;
  std::string links = run({"/usr/sbin/ip", "-o", "link", "show", "master", opts_.bridgeName});
  EXPECT_EQ(links.find("veth"), std::string::npos) << links;
  auto left = net_->recordedTasks();
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_F(CniRootTest, TeardownAfterTheNamespaceVanishedStillReleasesEverything) {
  // After a host reboot the pinned file is left but is no longer a namespace.
  TaskNetworkRequest r{taskId("reboot"), "arn", "bridge", {{"web", 80, 0, "tcp"}}};
  auto n = net_->setup(r);
  ASSERT_TRUE(n.ok()) << n.error().message;
  ASSERT_TRUE(isPinnedNetns(n->netnsPath));
  ASSERT_EQ(umount2(n->netnsPath.c_str(), MNT_DETACH), 0);
  EXPECT_FALSE(isPinnedNetns(n->netnsPath));
  net_.reset();
  net_ = open();
  ASSERT_NE(net_, nullptr);
  auto st = net_->teardown(r.taskId);
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_NE(access(n->netnsPath.c_str(), F_OK), 0);
  std::string nat = run({"/usr/sbin/iptables", "-t", "nat", "-S"});
  EXPECT_EQ(nat.find("berth-" + r.taskId), std::string::npos) << nat;
  EXPECT_NE(access((opts_.dataDir + "/cni/ipam/berth-" + opts_.bridgeName + "/" + n->ipv4Address).c_str(), F_OK), 0);
}

}  // namespace
}  // namespace berth::network

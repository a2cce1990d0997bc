#include "agent/metadata_responses.h"

#include <gtest/gtest.h>

namespace berth::agent {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

const std::string kTaskArn = "arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c";
const std::string kClusterArn = "arn:aws:ecs:us-west-2:111122223333:cluster/default";

TaskView awsvpcView() {
  TaskView v;
  v.task = json::parse(R"({
    "taskArn": "arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c",
    "clusterArn": "arn:aws:ecs:us-west-2:111122223333:cluster/default",
    "taskDefinitionArn": "arn:aws:ecs:us-west-2:111122223333:task-definition/curltest:26",
    "group": "service:MyService",
    "launchType": "EC2",
    "cpu": "256", "memory": "512",
    "availabilityZone": "us-west-2d",
    "containers": [{"name": "curl", "containerArn": "arn:aws:ecs:us-west-2:111122223333:container/0206b271-b33f-47ab-86c6-a0ba208a70a9"}],
    "overrides": {"containerOverrides": [{"name": "curl"}]},
    "taskDefinition": {
      "family": "curltest", "revision": 26, "networkMode": "awsvpc",
      "containerDefinitions": [{
        "name": "curl", "image": "111122223333.dkr.ecr.us-west-2.amazonaws.com/curltest:latest",
        "cpu": 10, "memory": 128,
        "dockerLabels": {"team": "web"},
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/metadata", "awslogs-region": "us-west-2", "awslogs-stream-prefix": "ecs"}},
        "healthCheck": {"command": ["CMD-SHELL", "true"]}
      }]
    }
  })");
  v.record.taskArn = kTaskArn;
  v.record.lastStatus = "RUNNING";
  v.record.desiredStatus = "RUNNING";
  ContainerRecord c;
  c.name = "curl";
  c.runtimeId = "158d1c8083dd49d6b527399fd6414f5c-curl";
  c.lastStatus = "RUNNING";
  c.imageDigest = "sha256:d691691e9652791a60114e67b365688d20d19940dde7c4736ea30e660d8d3553";
  c.healthStatus = "HEALTHY";
  v.record.containers.push_back(c);
  network::TaskNetwork n;
  n.networkMode = "awsvpc";
  n.netnsPath = "/run/netns/x";
  n.ipv4Address = "10.0.2.106";
  n.ipv4SubnetCidrBlock = "10.0.2.0/24";
  n.gatewayIpv4Address = "10.0.2.1";
  n.macAddress = "12:ed:0a:0e:2f:ab";
  n.interfaceName = "eth0";
  v.network = n;
  v.timestamps = json{{"pullStartedAt", 1601597707.5}, {"pullStoppedAt", 1601597708}};
  v.containerTimes = json{{"curl", {{"createdAt", 1601597707.620912}, {"startedAt", 1601597708}, {"healthSince", 1601597710}, {"healthOutput", "ok"}}}};
  return v;
}

MetadataContext ctx() {
  MetadataContext c;
  c.region = "us-west-2";
  c.now = std::chrono::system_clock::time_point(1601597800s);
  return c;
}

TEST(MetadataResponses, ContainerHasTheDocumentedV4Shape) {
  auto body = containerMetadata(awsvpcView(), "curl", ctx());
  ASSERT_TRUE(body.has_value());
  const json& c = *body;
  EXPECT_EQ(c["DockerId"], "158d1c8083dd49d6b527399fd6414f5c-curl");
  EXPECT_EQ(c["Name"], "curl");
  EXPECT_EQ(c["Image"], "111122223333.dkr.ecr.us-west-2.amazonaws.com/curltest:latest");
  EXPECT_EQ(c["ImageID"], "sha256:d691691e9652791a60114e67b365688d20d19940dde7c4736ea30e660d8d3553");
  EXPECT_EQ(c["Labels"]["com.amazonaws.ecs.cluster"], kClusterArn);
  EXPECT_EQ(c["Labels"]["com.amazonaws.ecs.container-name"], "curl");
  EXPECT_EQ(c["Labels"]["com.amazonaws.ecs.task-arn"], kTaskArn);
  EXPECT_EQ(c["Labels"]["com.amazonaws.ecs.task-definition-family"], "curltest");
  EXPECT_EQ(c["Labels"]["com.amazonaws.ecs.task-definition-version"], "26");
  EXPECT_EQ(c["Labels"]["team"], "web");
  EXPECT_EQ(c["DesiredStatus"], "RUNNING");
  EXPECT_EQ(c["KnownStatus"], "RUNNING");
  EXPECT_EQ(c["Limits"], (json{{"CPU", 10}, {"Memory", 128}}));
  EXPECT_EQ(c["CreatedAt"], "2020-10-02T00:15:07.620912000Z");
  EXPECT_EQ(c["StartedAt"], "2020-10-02T00:15:08.000000000Z");
  EXPECT_EQ(c["Type"], "NORMAL");
  EXPECT_EQ(c["ContainerARN"], "arn:aws:ecs:us-west-2:111122223333:container/0206b271-b33f-47ab-86c6-a0ba208a70a9");
  EXPECT_EQ(c["LogDriver"], "awslogs");
  EXPECT_EQ(c["LogOptions"]["awslogs-group"], "/ecs/metadata");
  EXPECT_EQ(c["Health"]["status"], "HEALTHY");
  EXPECT_EQ(c["Health"]["statusSince"], "2020-10-02T00:15:10.000000000Z");
  EXPECT_EQ(c["Health"]["output"], "ok");
  EXPECT_FALSE(c.contains("ExitCode"));
  ASSERT_EQ(c["Networks"].size(), 1u);
  const json& n = c["Networks"][0];
  EXPECT_EQ(n["NetworkMode"], "awsvpc");
  EXPECT_EQ(n["IPv4Addresses"], json::array({"10.0.2.106"}));
  EXPECT_EQ(n["AttachmentIndex"], 0);
  EXPECT_EQ(n["MACAddress"], "12:ed:0a:0e:2f:ab");
  EXPECT_EQ(n["IPv4SubnetCIDRBlock"], "10.0.2.0/24");
  EXPECT_EQ(n["PrivateDNSName"], "ip-10-0-2-106.us-west-2.compute.internal");
  EXPECT_EQ(n["SubnetGatewayIpv4Address"], "10.0.2.1/24");
  EXPECT_FALSE(containerMetadata(awsvpcView(), "nope", ctx()).has_value());
}

TEST(MetadataResponses, StoppedContainerShowsItsExitCodeAndNoHealthWithoutCheck) {
  TaskView v = awsvpcView();
  v.task["taskDefinition"]["containerDefinitions"][0].erase("healthCheck");
  v.record.containers[0].lastStatus = "STOPPED";
  v.record.containers[0].exitCode = 3;
  v.record.desiredStatus = "STOPPED";
  json c = *containerMetadata(v, "curl", ctx());
  EXPECT_EQ(c["KnownStatus"], "STOPPED");
  EXPECT_EQ(c["DesiredStatus"], "STOPPED");
  EXPECT_EQ(c["ExitCode"], 3);
  EXPECT_FALSE(c.contains("Health"));
}

TEST(MetadataResponses, TaskHasTheDocumentedV4Shape) {
  MetadataContext mc = ctx();
  mc.clockErrorBoundMs = 0.5;
  mc.clockSynchronized = true;
  json t = taskMetadata(awsvpcView(), mc);
  EXPECT_EQ(t["Cluster"], kClusterArn);
  EXPECT_EQ(t["TaskARN"], kTaskArn);
  EXPECT_EQ(t["Family"], "curltest");
  EXPECT_EQ(t["Revision"], "26");
  EXPECT_EQ(t["ServiceName"], "MyService");
  EXPECT_EQ(t["DesiredStatus"], "RUNNING");
  EXPECT_EQ(t["KnownStatus"], "RUNNING");
  EXPECT_EQ(t["Limits"], (json{{"CPU", 0.25}, {"Memory", 512}}));
  EXPECT_EQ(t["PullStartedAt"], "2020-10-02T00:15:07.500000000Z");
  EXPECT_EQ(t["PullStoppedAt"], "2020-10-02T00:15:08.000000000Z");
  EXPECT_EQ(t["AvailabilityZone"], "us-west-2d");
  EXPECT_EQ(t["LaunchType"], "EC2");
  ASSERT_EQ(t["Containers"].size(), 1u);
  EXPECT_EQ(t["Containers"][0]["Name"], "curl");
  EXPECT_EQ(t["ClockDrift"]["ClockErrorBound"], 0.5);
  EXPECT_EQ(t["ClockDrift"]["ClockSynchronizationStatus"], "SYNCHRONIZED");
  EXPECT_EQ(t["ClockDrift"]["ReferenceTimestamp"], "2020-10-02T00:16:40.000000000Z");
}

TEST(MetadataResponses, BridgeTaskShowsPortsAndAddressOnly) {
  TaskView v = awsvpcView();
  v.network->networkMode = "bridge";
  v.network->ipv4Address = "10.88.0.5";
  v.network->bindings = {network::PortBinding{"curl", "0.0.0.0", 80, 32768, "tcp"},
                         network::PortBinding{"other", "0.0.0.0", 81, 32769, "tcp"}};
  json c = *containerMetadata(v, "curl", ctx());
  EXPECT_EQ(c["Networks"], json::parse(R"([{"NetworkMode": "bridge", "IPv4Addresses": ["10.88.0.5"]}])"));
  EXPECT_EQ(c["Ports"], json::parse(R"([{"ContainerPort": 80, "Protocol": "tcp", "HostPort": 32768, "HostIp": "0.0.0.0"}])"));
}

TEST(MetadataResponses, ParsesKernelFiles) {
  const std::string netdev =
      "Inter-|   Receive                                                |  Transmit\n"
      " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n"
      "    lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0\n"
      "  eth0:   12345      67    1    2    0     0          0         0     5432      21    3    4    0     0       0          0\n";
  auto nets = parseNetDev(netdev);
  ASSERT_EQ(nets.size(), 1u);
  const auto& e = nets.at("eth0");
  EXPECT_EQ(e.rxBytes, 12345u);
  EXPECT_EQ(e.rxPackets, 67u);
  EXPECT_EQ(e.rxErrors, 1u);
  EXPECT_EQ(e.rxDropped, 2u);
  EXPECT_EQ(e.txBytes, 5432u);
  EXPECT_EQ(e.txPackets, 21u);
  EXPECT_EQ(e.txErrors, 3u);
  EXPECT_EQ(e.txDropped, 4u);

  auto kv = parseKeyValues("cache 4096\nrss 8192\n");
  EXPECT_EQ(kv["cache"], 4096u);
  EXPECT_EQ(kv["rss"], 8192u);
  EXPECT_EQ(parseNumbers("1 2 3\n"), (std::vector<std::uint64_t>{1, 2, 3}));
  auto b = parseBlkio("8:0 Read 4096\n8:0 Write 0\nTotal 4096\n");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].major, 8u);
  EXPECT_EQ(b[0].op, "Read");
  EXPECT_EQ(b[0].value, 4096u);
  EXPECT_EQ(parseProcStatCpuNs("cpu  10 0 5 85 0 0 0 0 0 0\ncpu0 1 2 3\n", 100), 100u * 10'000'000u);
}

TEST(MetadataResponses, DockerStatsShapeWithPreviousSample) {
  ContainerStatsSample prev;
  prev.read = std::chrono::system_clock::time_point(1601597800s);
  prev.cpuTotalNs = 1000;
  prev.networks["eth0"].rxBytes = 1000;
  ContainerStatsSample now = prev;
  now.read = prev.read + 2s;
  now.cpuTotalNs = 5000;
  now.cpuUserNs = 3000;
  now.cpuKernelNs = 2000;
  now.perCpuNs = {2500, 2500};
  now.systemCpuNs = 1'000'000;
  now.onlineCpus = 2;
  now.memoryUsage = 1 << 20;
  now.memoryMaxUsage = 2 << 20;
  now.memoryLimit = 128 << 20;
  now.memoryStat = {{"cache", 4096}};
  now.pids = 3;
  now.networks["eth0"].rxBytes = 3000;
  now.ioServiceBytes = {BlkioEntry{8, 0, "Read", 4096}};
  json s = dockerStats(now, &prev, "id1", "/id1");
  EXPECT_EQ(s["read"], "2020-10-02T00:16:42.000000000Z");
  EXPECT_EQ(s["preread"], "2020-10-02T00:16:40.000000000Z");
  EXPECT_EQ(s["pids_stats"]["current"], 3);
  EXPECT_EQ(s["cpu_stats"]["cpu_usage"]["total_usage"], 5000);
  EXPECT_EQ(s["cpu_stats"]["cpu_usage"]["usage_in_usermode"], 3000);
  EXPECT_EQ(s["cpu_stats"]["cpu_usage"]["usage_in_kernelmode"], 2000);
  EXPECT_EQ(s["cpu_stats"]["cpu_usage"]["percpu_usage"], json::array({2500, 2500}));
  EXPECT_EQ(s["cpu_stats"]["system_cpu_usage"], 1000000);
  EXPECT_EQ(s["cpu_stats"]["online_cpus"], 2);
  EXPECT_TRUE(s["cpu_stats"]["throttling_data"].contains("throttled_periods"));
  EXPECT_EQ(s["precpu_stats"]["cpu_usage"]["total_usage"], 1000);
  EXPECT_EQ(s["memory_stats"]["usage"], 1 << 20);
  EXPECT_EQ(s["memory_stats"]["max_usage"], 2 << 20);
  EXPECT_EQ(s["memory_stats"]["limit"], 128 << 20);
  EXPECT_EQ(s["memory_stats"]["stats"]["cache"], 4096);
  EXPECT_EQ(s["blkio_stats"]["io_service_bytes_recursive"][0],
            json::parse(R"({"major": 8, "minor": 0, "op": "Read", "value": 4096})"));
  EXPECT_EQ(s["networks"]["eth0"]["rx_bytes"], 3000);
  EXPECT_EQ(s["network_rate_stats"]["rx_bytes_per_sec"], 1000.0);
  EXPECT_EQ(s["id"], "id1");
  // Without a previous sample precpu_stats is zero and preread the zero time.
  json first = dockerStats(now, nullptr, "id1", "/id1");
  EXPECT_EQ(first["preread"], "0001-01-01T00:00:00Z");
  EXPECT_EQ(first["precpu_stats"]["cpu_usage"]["total_usage"], 0);
}

TEST(MetadataResponses, CredentialsAndErrorShapes) {
  TaskRoleCredentials c{"ASIAEXAMPLE", "secret", "token", "arn:aws:iam::111122223333:role/app",
                        std::chrono::system_clock::time_point(1601597800s)};
  EXPECT_EQ(credentialsResponse(c), json::parse(R"({"RoleArn": "arn:aws:iam::111122223333:role/app",
      "AccessKeyId": "ASIAEXAMPLE", "SecretAccessKey": "secret", "Token": "token",
      "Expiration": "2020-10-02T00:16:40Z"})"));
  EXPECT_EQ(endpointError("InvalidIdInRequest", "m"), (json{{"code", "InvalidIdInRequest"}, {"message", "m"}}));
}

}  // namespace
}  // namespace berth::agent

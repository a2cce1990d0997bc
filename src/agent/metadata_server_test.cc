// Root test: real network namespaces, real listeners inside them, and curl
// run inside the namespace as a container's process would be.
#include "agent/metadata_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <mutex>

#include "api/http_server.h"
#include "runtime/subprocess.h"

namespace berth::agent {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A named network namespace (ip netns add), removed on destruction.
class Netns {
 public:
  explicit Netns(const std::string& suffix) : name_("berth-meta-" + std::to_string(::getpid()) + "-" + suffix) {
    auto r = runtime::runCommand({"/usr/sbin/ip", "netns", "add", name_}, 10s);
    ok_ = r.ok() && r->exitCode == 0;
  }
  ~Netns() {
    if (ok_) (void)runtime::runCommand({"/usr/sbin/ip", "netns", "delete", name_}, 10s);
  }
  bool ok() const { return ok_; }
  std::string path() const { return "/run/netns/" + name_; }
  // curl run inside the namespace: (HTTP status, body).
  std::pair<int, std::string> curl(const std::string& url) const { return curlIn({"/usr/sbin/ip", "netns", "exec", name_}, url); }

  static std::pair<int, std::string> curlIn(std::vector<std::string> prefix, const std::string& url) {
    prefix.insert(prefix.end(), {"/usr/bin/curl", "-s", "--max-time", "5", "-w", "\n%{http_code}", url});
    auto r = runtime::runCommand(prefix, 15s);
    if (!r.ok() || r->exitCode != 0) return {0, r.ok() ? r->err : r.error().message};
    auto nl = r->out.rfind('\n');
    return {std::atoi(r->out.substr(nl + 1).c_str()), r->out.substr(0, nl)};
  }

 private:
  std::string name_;
  bool ok_ = false;
};

json taskDoc(const std::string& taskId, const std::string& networkMode) {
  return json{{"taskArn", "arn:aws:ecs:us-east-1:000000000000:task/default/" + taskId},
              {"clusterArn", "arn:aws:ecs:us-east-1:000000000000:cluster/default"},
              {"taskDefinitionArn", "arn:aws:ecs:us-east-1:000000000000:task-definition/meta:1"},
              {"taskDefinition",
               {{"family", "meta"},
                {"revision", 1},
                {"networkMode", networkMode},
                {"taskRoleArn", "arn:aws:iam::000000000000:role/app"},
                {"containerDefinitions", {{{"name", "app"}, {"image", "busybox"}, {"memory", 64}}}}}}};
}

MetadataRegistration registration(const std::string& taskId, const std::string& networkMode, const std::string& netns,
                                   bool withRole) {
  MetadataRegistration r;
  r.taskArn = "arn:aws:ecs:us-east-1:000000000000:task/default/" + taskId;
  r.taskId = taskId;
  r.networkMode = networkMode;
  r.netnsPath = netns;
  if (withRole) r.taskRoleArn = "arn:aws:iam::000000000000:role/app";
  r.containers = {{"app", taskId + "-app"}};
  r.view = [taskId, networkMode] {
    TaskView v;
    v.task = taskDoc(taskId, networkMode);
    v.record.taskArn = v.task["taskArn"];
    v.record.lastStatus = "RUNNING";
    ContainerRecord c;
    c.name = "app";
    c.runtimeId = taskId + "-app";
    c.lastStatus = "RUNNING";
    v.record.containers.push_back(c);
    network::TaskNetwork n;
    n.networkMode = networkMode;
    v.network = n;
    return v;
  };
  return r;
}

std::string envValue(const MetadataEnv& env, const std::string& container, const std::string& name) {
  for (const auto& [k, v] : env.at(container))
    if (k == name) return v;
  return "";
}

class MetadataServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    MetadataServerOptions o;
    o.hostPort = 0;
    o.credentialIdKey = "test-key";
    auto fetcher = [this](const std::string& taskArn) -> Result<TaskRoleCredentials> {
      ++fetches_;
      return TaskRoleCredentials{"ASIATESTKEY", "secret-for-" + taskArn.substr(taskArn.rfind('/') + 1), "token",
                                 "arn:aws:iam::000000000000:role/app", clock_.now() + 1h};
    };
    auto s = MetadataServer::start(o, fetcher, clock_, random_);
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
  }

  SystemClock clock_;
  SeededRandom random_{1};
  std::atomic<int> fetches_{0};
  std::unique_ptr<MetadataServer> server_;
};

TEST_F(MetadataServerTest, AnswersFromInsideTheTasksNamespace) {
  Netns ns("a");
  ASSERT_TRUE(ns.ok());
  auto env = server_->registerTask(registration("taskaaaa", "awsvpc", ns.path(), true));
  ASSERT_TRUE(env.ok()) << env.error().message;
  const std::string uri = envValue(*env, "app", "ECS_CONTAINER_METADATA_URI_V4");
  EXPECT_EQ(uri, "http://169.254.170.2/v4/taskaaaa-app");
  const std::string rel = envValue(*env, "app", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  EXPECT_EQ(rel.rfind("/v2/credentials/", 0), 0u) << rel;
  EXPECT_EQ(fetches_.load(), 1);  // fetched before the containers start

  auto [status, body] = ns.curl(uri);
  ASSERT_EQ(status, 200) << body;
  json c = json::parse(body);
  EXPECT_EQ(c["Name"], "app");
  EXPECT_EQ(c["DockerId"], "taskaaaa-app");

  std::tie(status, body) = ns.curl(uri + "/task");
  ASSERT_EQ(status, 200) << body;
  json t = json::parse(body);
  EXPECT_EQ(t["TaskARN"], "arn:aws:ecs:us-east-1:000000000000:task/default/taskaaaa");
  EXPECT_EQ(t["Family"], "meta");
  EXPECT_EQ(t["Containers"][0]["Networks"][0]["NetworkMode"], "awsvpc");

  std::tie(status, body) = ns.curl(uri + "/stats");
  ASSERT_EQ(status, 200) << body;
  EXPECT_TRUE(json::parse(body).contains("cpu_stats"));
  std::tie(status, body) = ns.curl(uri + "/task/stats");
  ASSERT_EQ(status, 200) << body;
  EXPECT_TRUE(json::parse(body).contains("taskaaaa-app"));

  std::tie(status, body) = ns.curl("http://169.254.170.2" + rel);
  ASSERT_EQ(status, 200) << body;
  json creds = json::parse(body);
  EXPECT_EQ(creds["AccessKeyId"], "ASIATESTKEY");
  EXPECT_EQ(creds["SecretAccessKey"], "secret-for-taskaaaa");
  EXPECT_EQ(creds["Token"], "token");
  EXPECT_EQ(creds["RoleArn"], "arn:aws:iam::000000000000:role/app");

  std::tie(status, body) = ns.curl("http://169.254.170.2/v2/credentials/wrong");
  EXPECT_EQ(status, 400);
  EXPECT_EQ(json::parse(body)["code"], "InvalidIdInRequest");
  std::tie(status, body) = ns.curl("http://169.254.170.2/v4/unknown-container");
  EXPECT_EQ(status, 404);

  // The same id again (agent restart) gives the same variables and still serves.
  auto again = server_->registerTask(registration("taskaaaa", "awsvpc", ns.path(), true));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(envValue(*again, "app", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), rel);
  std::tie(status, body) = ns.curl(uri);
  EXPECT_EQ(status, 200) << body;

  server_->unregisterTask("taskaaaa");
  std::tie(status, body) = ns.curl(uri);
  EXPECT_EQ(status, 0);  // nothing listens any more
}

TEST_F(MetadataServerTest, ATaskSeesOnlyItself) {
  Netns a("b"), b("c");
  ASSERT_TRUE(a.ok() && b.ok());
  auto envA = server_->registerTask(registration("taskbbbb", "bridge", a.path(), true));
  auto envB = server_->registerTask(registration("taskcccc", "none", b.path(), false));
  ASSERT_TRUE(envA.ok() && envB.ok());
  EXPECT_EQ(envValue(*envB, "app", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), "");
  // B asks for A's container and A's credentials on its own listener.
  EXPECT_EQ(b.curl("http://169.254.170.2/v4/taskbbbb-app").first, 404);
  EXPECT_EQ(b.curl("http://169.254.170.2" + envValue(*envA, "app", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")).first,
            400);
  EXPECT_EQ(b.curl("http://169.254.170.2/v4/taskcccc-app/task").first, 200);
  // Nor does the host's shared listener show namespaced tasks.
  const std::string host = "http://127.0.0.1:" + std::to_string(server_->hostPort());
  EXPECT_EQ(Netns::curlIn({}, host + "/v4/taskbbbb-app").first, 404);
  EXPECT_EQ(Netns::curlIn({}, host + envValue(*envA, "app", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")).first, 400);
  server_->unregisterTask("taskbbbb");
  server_->unregisterTask("taskcccc");
}

TEST_F(MetadataServerTest, HostModeUsesTheLoopbackListener) {
  auto env = server_->registerTask(registration("taskdddd", "host", "", true));
  ASSERT_TRUE(env.ok()) << env.error().message;
  const std::string port = std::to_string(server_->hostPort());
  const std::string uri = envValue(*env, "app", "ECS_CONTAINER_METADATA_URI_V4");
  EXPECT_EQ(uri, "http://127.0.0.1:" + port + "/v4/taskdddd-app");
  const std::string full = envValue(*env, "app", "AWS_CONTAINER_CREDENTIALS_FULL_URI");
  EXPECT_EQ(full.rfind("http://127.0.0.1:" + port + "/v2/credentials/", 0), 0u) << full;
  auto [status, body] = Netns::curlIn({}, uri + "/task");
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(json::parse(body)["Containers"][0]["Networks"][0]["NetworkMode"], "host");
  std::tie(status, body) = Netns::curlIn({}, full);
  ASSERT_EQ(status, 200) << body;
  EXPECT_EQ(json::parse(body)["SecretAccessKey"], "secret-for-taskdddd");
  server_->unregisterTask("taskdddd");
  EXPECT_EQ(Netns::curlIn({}, uri).first, 404);
}

}  // namespace
}  // namespace berth::agent

namespace berth::agent {
namespace {

// serverCredentialsFetcher speaks GetTaskCredentials to the server: the
// request names the instance and task, the answer becomes TaskRoleCredentials.
TEST(ServerCredentialsFetcher, CallsGetTaskCredentials) {
  std::mutex mu;
  json seen;
  std::string target;
  auto http = api::HttpServer::start(api::HttpServerOptions{}, [&](const api::HttpRequest& r) {
    std::lock_guard lock(mu);
    seen = json::parse(r.body);
    target = r.header("x-amz-target") ? *r.header("x-amz-target") : "";
    api::HttpResponse res;
    res.setHeader("content-type", "application/x-amz-json-1.1");
    res.body = json{{"taskArn", "t"},
                    {"roleArn", "arn:aws:iam::000000000000:role/app"},
                    {"credentials",
                     {{"accessKeyId", "ASIAAAAAAAAAAAAAAAAA"},
                      {"secretAccessKey", "s"},
                      {"sessionToken", "tok"},
                      {"expiration", 1700003600}}}}
                   .dump();
    return res;
  });
  ASSERT_TRUE(http.ok()) << http.error().message;
  SystemClock clock;
  ServerClient client(ServerEndpoint{"127.0.0.1", (*http)->port(), "us-east-1", {"AKIDEXAMPLE", "secret"}}, clock);
  auto fetch = serverCredentialsFetcher(client, [] { return std::pair<std::string, std::string>{"prod", "ci-arn"}; });
  auto c = fetch("task-arn");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->accessKeyId, "ASIAAAAAAAAAAAAAAAAA");
  EXPECT_EQ(c->secretAccessKey, "s");
  EXPECT_EQ(c->sessionToken, "tok");
  EXPECT_EQ(c->roleArn, "arn:aws:iam::000000000000:role/app");
  EXPECT_EQ(c->expiration, std::chrono::system_clock::time_point(std::chrono::seconds(1700003600)));
  std::lock_guard lock(mu);
  EXPECT_EQ(target, "BerthAgentService_V1.GetTaskCredentials");
  EXPECT_EQ(seen, (json{{"cluster", "prod"}, {"containerInstance", "ci-arn"}, {"task", "task-arn"}}));
}

}  // namespace
}  // namespace berth::agent

#include "cmd/agent_command.h"

#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <set>
#include <iostream>
#include <thread>

#include "agent/awslogs_shipper.h"
#include "agent/fake_node.h"
#include "agent/metadata_server.h"
#include "agent/node_backends.h"
#include "agent/registry_access.h"
#include "agent/ssm_secret_resolver.h"
#include "cmd/process_setup.h"
#include "common/log.h"
#include "images/image_store_impl.h"
#include "network/cni_task_networking.h"
#include "network/fake_networking.h"
#include "network/port_allocator.h"
#include "runtime/conmon_runtime.h"
#include "runtime/fake_runtime.h"

namespace berth::cmd {

struct NodeAgent::Parts {
  SystemClock clock;
  SystemRandom random;
  // Before the image store, which calls into registryAccess while pulling.
  std::unique_ptr<agent::ServerClient> client;
  std::unique_ptr<agent::RegistryAccess> registryAccess;
  std::unique_ptr<runtime::Runtime> runtime;
  std::unique_ptr<images::ImageStore> images;
  std::unique_ptr<agent::RootfsProvider> rootfs;
  std::unique_ptr<agent::LocalRecord> record;
  std::unique_ptr<agent::ServerStateReporter> reporter;
  // Issue #5 collaborators of the task engine; they outlive the agent (declared before it).
  std::unique_ptr<agent::ServerSsmParameterSource> ssmSource;
  std::unique_ptr<agent::SsmSecretResolver> secrets;
  std::unique_ptr<agent::ServerLogsClient> logsClient;
  std::unique_ptr<agent::AwsLogsShipper> logs;
  std::unique_ptr<network::TaskNetworking> network;
  std::unique_ptr<agent::MetadataServer> metadata;
  std::unique_ptr<agent::TaskEnv> env;
  std::unique_ptr<agent::Agent> agent;
  std::thread loop;
};

namespace {

Result<images::PullBehavior> parsePullBehavior(const std::string& s) {
  if (s == "default") return images::PullBehavior::kDefault;
  if (s == "always") return images::PullBehavior::kAlways;
  if (s == "once") return images::PullBehavior::kOnce;
  if (s == "prefer-cached") return images::PullBehavior::kPreferCached;
  return Error::make(ErrorCode::kInvalidParameter, "--pull-behavior must be default, always, once or prefer-cached", s);
}

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

// CNI networking for real nodes, in-memory addresses and ports for fakes. A
// task network recorded on disk that no task in the agent's record will tear
// down (the agent crashed between the two) is torn down here, so its address
// and ports are released.
Result<std::unique_ptr<network::TaskNetworking>> startNetworking(const AgentConfig& config, const std::string& dir,
                                                                 agent::LocalRecord& record) {
  if (config.fakeRuntime) return std::unique_ptr<network::TaskNetworking>(std::make_unique<network::FakeNetworking>());
  network::CniNetworkingOptions no;
  no.dataDir = dir;
  no.bridgeName = config.bridgeName;
  no.bridgeSubnet = config.bridgeSubnet;
  no.awsvpcBridgeName = config.awsvpcBridgeName;
  no.awsvpcSubnet = config.awsvpcSubnet;
  if (!config.dynamicHostPortRange.empty()) {
    auto range = network::parsePortRange(config.dynamicHostPortRange);
    if (!range.ok()) return range.takeError();
    no.dynamicPortRange = *range;
  }
  auto net = network::CniTaskNetworking::open(no);
  if (!net.ok()) return net.takeError();
  auto recorded = (*net)->recordedTasks();
  if (!recorded.ok()) return recorded.takeError();
  std::set<std::string> live;
  for (const auto& [arn, task] : record.snapshot().tasks)
    if (task.lastStatus != "STOPPED") live.insert(arn.substr(arn.rfind('/') + 1));
  for (const auto& taskId : *recorded) {
    if (live.count(taskId)) continue;
    auto st = (*net)->teardown(taskId);
    if (!st.ok()) log::warn("stale task network not torn down", {{"task", taskId}, {"error", st.error().message}});
  }
  return std::unique_ptr<network::TaskNetworking>(std::move(*net));
}

}  // namespace

Result<api::AwsCredentials> agentCredentialsFromEnv() {
  for (auto [id, secret] : {std::pair{"BERTH_ACCESS_KEY_ID", "BERTH_SECRET_ACCESS_KEY"},
                            std::pair{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}}) {
    const char* i = std::getenv(id);
    const char* s = std::getenv(secret);
    if (i && *i && s && *s) return api::AwsCredentials{i, s};
  }
  return Error::make(ErrorCode::kInvalidParameter,
                     "no credentials: set BERTH_ACCESS_KEY_ID/BERTH_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)");
}

NodeAgent::NodeAgent(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

NodeAgent::~NodeAgent() {
  stop();
  if (parts_->loop.joinable()) parts_->loop.join();
  parts_->agent.reset();  // joins task runners before what they use goes away
}

void NodeAgent::stop() {
  if (parts_->agent) parts_->agent->stop();
}

Result<std::unique_ptr<NodeAgent>> NodeAgent::start(const AgentConfig& config, const api::AwsCredentials& credentials) {
  auto parts = std::make_unique<Parts>();
  auto endpoint = agent::parseServerUrl(config.server);
  if (!endpoint.ok()) return endpoint.takeError();
  endpoint->region = !config.region.empty() ? config.region : envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1"));
  endpoint->credentials = credentials;
  auto behavior = parsePullBehavior(config.pullBehavior);
  if (!behavior.ok()) return behavior.takeError();

  std::error_code ec;
  std::filesystem::create_directories(config.dataDir, ec);
  if (ec) return Error::make(ErrorCode::kIo, "cannot create agent data dir: " + ec.message(), config.dataDir);
  const auto dir = std::filesystem::absolute(config.dataDir);

  parts->client = std::make_unique<agent::ServerClient>(*endpoint, parts->clock);
  parts->registryAccess = std::make_unique<agent::RegistryAccess>(*parts->client, parts->clock);
  agent::SpecBuilder specBuilder;
  if (config.fakeRuntime) {
    parts->runtime = std::make_unique<runtime::FakeRuntime>(parts->clock);
    parts->images = std::make_unique<agent::FakeImageStore>();
    parts->rootfs = std::make_unique<agent::DirectoryRootfs>();
    specBuilder = agent::fakeSpec;
  } else {
    runtime::ConmonRuntimeOptions ro;
    ro.rootDir = (dir / "runtime").string();
    parts->runtime = std::make_unique<runtime::ConmonRuntime>(ro);
    images::ImageStoreOptions io;
    io.root = (dir / "images").string();
    // Images named by repositoryUri or by the server's HOST:PORT come from Berth's registry.
    io.resolveRegistry = [access = parts->registryAccess.get()](std::string_view registry) {
      return access->endpointFor(registry);
    };
    io.credentialsFor = [access = parts->registryAccess.get()](std::string_view registry) {
      return access->credentialsFor(registry);
    };
    auto store = images::ImageStoreImpl::open(io);
    if (!store.ok()) return store.takeError();
    parts->images = std::move(*store);
    parts->rootfs = std::make_unique<agent::OverlayRootfs>();
    specBuilder = agent::makeOciSpecBuilder();
  }
  auto record = agent::LocalRecord::open(dir.string());
  if (!record.ok()) return record.takeError();
  parts->record = std::move(*record);
  parts->reporter = std::make_unique<agent::ServerStateReporter>(*parts->client);
  parts->env = std::make_unique<agent::TaskEnv>(agent::TaskEnv{*parts->images, *parts->runtime, *parts->rootfs,
                                                               *parts->reporter, *parts->record, parts->clock,
                                                               std::move(specBuilder), (dir / "tasks").string(),
                                                               *behavior});
  if (!config.fakeRuntime) parts->env->taskCgroup = agent::applyTaskCgroupLimits;
  parts->env->volumesDir = (dir / "volumes").string();
  auto networking = startNetworking(config, dir.string(), *parts->record);
  if (!networking.ok()) return networking.takeError();
  parts->network = std::move(*networking);
  parts->env->network = parts->network.get();
  // Secrets come from the server's SSM Parameter Store, awslogs lines go to its Logs API.
  parts->ssmSource = std::make_unique<agent::ServerSsmParameterSource>(*parts->client);
  parts->secrets = std::make_unique<agent::SsmSecretResolver>(*parts->ssmSource, endpoint->region);
  parts->env->secrets = parts->secrets.get();
  if (!config.fakeRuntime) {
    parts->logsClient = std::make_unique<agent::ServerLogsClient>(*parts->client);
    parts->logs = std::make_unique<agent::AwsLogsShipper>(*parts->logsClient, parts->clock);
    parts->env->logs = parts->logs.get();
    // Task metadata v4 + task-role credentials, served inside each task's
    // namespace (169.254.170.2:80) and on 127.0.0.1:--metadata-port for host mode.
    agent::MetadataServerOptions mo;
    mo.hostPort = static_cast<std::uint16_t>(config.metadataPort);
    mo.credentialIdKey = endpoint->credentials.secretAccessKey;
    mo.region = endpoint->region;
    mo.availabilityZone = config.availabilityZone;
    auto fetch = agent::serverCredentialsFetcher(*parts->client, [rec = parts->record.get()] {
      auto s = rec->snapshot();
      return std::pair{s.clusterArn, s.containerInstanceArn};
    });
    auto md = agent::MetadataServer::start(mo, std::move(fetch), parts->clock, parts->random);
    if (!md.ok()) return md.takeError();
    parts->metadata = std::move(*md);
    parts->env->metadata = parts->metadata.get();
  }

  agent::AgentOptions options;
  options.dataDir = dir.string();
  options.instance.cluster = config.cluster;
  options.instance.availabilityZone = config.availabilityZone;
  options.instance.instanceType = config.instanceType;
  options.instance.cpuUnits = config.cpu;
  options.instance.memoryMiB = config.memory;
  for (const auto& a : config.attributes) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      return Error::make(ErrorCode::kInvalidParameter, "--attribute must be KEY=VALUE", a);
    options.instance.attributes.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  parts->agent = std::make_unique<agent::Agent>(options, *parts->client, *parts->env, *parts->record);
  auto st = parts->agent->start();
  if (!st.ok()) return st.takeError();
  auto* a = parts->agent.get();
  parts->loop = std::thread([a] { a->run(); });
  return std::unique_ptr<NodeAgent>(new NodeAgent(std::move(parts)));
}

int runAgent(const AgentConfig& config) {
  if (!applyLogLevel(config.logLevel)) return 2;
  sigset_t signals = blockShutdownSignals();

  auto creds = agentCredentialsFromEnv();
  if (!creds.ok()) {
    std::cerr << "berth agent: " << creds.error().message << "\n";
    return 2;
  }
  if (config.simulate > 0) return runSimulatedAgents(config, *creds);
  auto node = NodeAgent::start(config, *creds);
  if (!node.ok()) {
    std::cerr << "berth agent: " << node.error().message
              << (node.error().context.empty() ? "" : " (" + node.error().context + ")") << "\n";
    return 1;
  }
  std::cout << "berth agent running (cluster " << config.cluster << ")" << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  log::info("agent shutting down; containers keep running", {{"signal", sig}});
  node->reset();
  return 0;
}

}  // namespace berth::cmd

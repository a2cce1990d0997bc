#include "cmd/server_runtime.h"

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "api/agent_api.h"
#include "api/ecr_api.h"
#include "api/ecs_api.h"
#include "api/events_api.h"
#include "api/front_door.h"
#include "api/http_server.h"
#include "api/logs_api.h"
#include "api/json_protocol_router.h"
#include "api/oci_distribution_api.h"
#include "api/registry_token.h"
#include "api/ssm_api.h"
#include "api/task_credentials.h"
#include "blobstore/blob_store.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "control/agent_channel.h"
#include "control/ecs_event_source.h"
#include "control/placement_index.h"
#include "control/service_controller.h"
#include "control/service_ops.h"
#include "control/state_cache.h"
#include "control/task_definition_ops.h"
#include "control/task_ops.h"
#include "registry/image_ops.h"
#include "registry/layer_ops.h"
#include "registry/lifecycle_ops.h"
#include "events/event_log.h"
#include "store/sqlite_store.h"

namespace berth::cmd {
namespace {

Result<std::pair<std::string, std::uint16_t>> splitHostPort(const std::string& listen) {
  auto bad = Error::make(ErrorCode::kInvalidParameter, "--listen must be HOST:PORT", listen);
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return bad;
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535 || host.empty()) return bad;
    return std::make_pair(host, static_cast<std::uint16_t>(p));
  } catch (const std::exception&) {
    return bad;
  }
}

// The URL clients use to reach a server bound to `address` ("host:port"): a
// wildcard bind is reached over loopback from this machine.
std::string publicUrl(const std::string& address) {
  if (address.rfind("0.0.0.0:", 0) == 0) return "http://127.0.0.1:" + address.substr(8);
  if (address.rfind("[::]:", 0) == 0) return "http://[::1]:" + address.substr(5);
  return "http://" + address;
}

}  // namespace

struct ServerRuntime::Parts {
  ServerConfig config;
  SystemClock clock;
  SystemRandom random;
  api::AwsCredentials credentials;
  std::unique_ptr<api::StaticCredentialProvider> credentialProvider;
  std::unique_ptr<api::TaskCredentialIssuer> taskCredentials;  // task-role credentials; also verifies bootstrap keys
  std::unique_ptr<store::Store> store;
  std::unique_ptr<control::StateCache> cache;
  std::unique_ptr<control::PlacementIndex> placement;  // observes the cache: declared after it, destroyed before
  std::unique_ptr<control::EcsContext> ecs;
  // ECS events: the durable window (DATA/events/events.db), the sink the
  // context publishes into, and the cache observer that turns task and
  // instance changes into events (destroyed before the cache).
  std::unique_ptr<events::EventLog> eventLog;
  std::unique_ptr<api::EventLogSink> eventSink;
  std::unique_ptr<control::EcsEventSource> eventSource;
  std::unique_ptr<api::EventsApi> eventsApi;
  std::unique_ptr<control::AgentChannel> agentChannel;
  // Observes the cache (its task index): declared after it, destroyed before.
  std::unique_ptr<control::ServiceController> serviceController;
  std::unique_ptr<blobstore::BlobStore> blobs;
  std::unique_ptr<api::RegistryTokens> registryTokens;
  std::unique_ptr<registry::LayerUploadApi> layers;
  std::unique_ptr<api::OciDistributionApi> registryApi;
  std::unique_ptr<ssm::ParameterCipher> ssmCipher;
  std::unique_ptr<ssm::SsmContext> ssm;
  std::unique_ptr<logs::LogStore> logStore;  // DATA/logs/logs.db
  api::JsonProtocolRouter router;
  std::unique_ptr<api::FrontDoor> frontDoor;
  // The HTTP server starts (and binds its port) before the front door exists,
  // because the registry's URLs need the bound port; until then requests get 503.
  std::atomic<api::FrontDoor*> door{nullptr};
  std::unique_ptr<api::HttpServer> http;

  // Housekeeping: agent liveness every 2 s, reapers every minute.
  std::mutex housekeepingMu;
  std::condition_variable housekeepingCv;
  bool housekeepingStop = false;
  std::thread housekeeper;
  bool stopped = false;

  // Lifecycle policies first (they turn images into garbage), then links no
  // manifest references any more, then blob files no link references.
  void maintainRegistry() {
    auto lifecycle = registry::applyLifecyclePolicies(*ecs, [this](const std::string& repo,
                                                                   const std::vector<std::string>& digests) {
      return registry::deleteImages(*ecs, repo, digests);
    });
    const std::chrono::seconds grace(config.registryGcGraceSeconds);
    auto links = registry::pruneUnreferencedLinks(*ecs, grace);
    auto referenced = registry::linkedDigests(*ecs);
    auto swept = blobs->sweep(
        [&](const oci::Digest& d) {
          // The snapshot answers for most blobs; a blob missing from it may have
          // been linked since, so check live (this runs under the blob's lock).
          return referenced.count(d.str()) > 0 || registry::isLinkedAnywhere(*ecs, d.str());
        },
        grace, std::chrono::hours(24));
    if (lifecycle.imagesExpired || links || swept.blobsRemoved || swept.uploadsExpired)
      log::info("registry maintenance", {{"imagesExpired", lifecycle.imagesExpired},
                                         {"linksPruned", links},
                                         {"blobsRemoved", swept.blobsRemoved},
                                         {"bytesRemoved", swept.bytesRemoved},
                                         {"uploadsExpired", swept.uploadsExpired}});
  }

  void housekeep() {
    auto lastReap = clock.monotonicNow();
    auto lastRegistry = clock.monotonicNow();
    auto lastLogsRetention = clock.monotonicNow();
    const std::chrono::seconds retention(config.stoppedTaskRetentionSeconds);
    std::unique_lock lock(housekeepingMu);
    const auto tick = std::chrono::seconds(
        std::clamp<std::int64_t>(std::min(config.registryMaintenanceSeconds, config.logsRetentionSeconds), 1, 2));
    while (!housekeepingCv.wait_for(lock, tick, [&] { return housekeepingStop; })) {
      lock.unlock();
      agentChannel->sweepLiveness();  // disconnected and lost agents
      if (clock.monotonicNow() - lastReap >= std::chrono::minutes(1)) {
        lastReap = clock.monotonicNow();
        auto reaped = control::reapStoppedTasks(*ecs, clock.now(), retention);
        if (!reaped.ok()) log::warn("reaping stopped tasks failed", {{"error", reaped.error().message}});
        else if (*reaped > 0) log::info("reaped stopped tasks and deregistered instances", {{"count", *reaped}});
        if (auto services = control::reapInactiveServices(*ecs, clock.now(), retention); !services.ok())
          log::warn("reaping inactive services failed", {{"error", services.error().message}});
        auto purged = control::purgeDeletedTaskDefinitions(*ecs);
        if (!purged.ok()) log::warn("purging deleted task definitions failed", {{"error", purged.error().message}});
      }
      if (clock.monotonicNow() - lastRegistry >= std::chrono::seconds(config.registryMaintenanceSeconds)) {
        lastRegistry = clock.monotonicNow();
        maintainRegistry();
      }
      if (clock.monotonicNow() - lastLogsRetention >= std::chrono::seconds(config.logsRetentionSeconds)) {
        lastLogsRetention = clock.monotonicNow();
        auto expired = logStore->enforceRetention(clock.now());
        if (!expired.ok()) log::warn("log retention failed", {{"error", expired.error().message}});
        else if (*expired > 0) log::info("expired log events", {{"count", *expired}});
      }
      lock.lock();
    }
  }
};

ServerRuntime::ServerRuntime(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
ServerRuntime::~ServerRuntime() { shutdown(); }

std::string ServerRuntime::address() const { return parts_->http->address(); }
const api::AwsCredentials& ServerRuntime::credentials() const { return parts_->credentials; }

Result<std::unique_ptr<ServerRuntime>> ServerRuntime::start(const ServerConfig& config) {
  auto hostPort = splitHostPort(config.listen);
  if (!hostPort.ok()) return hostPort.takeError();
  if (config.stoppedTaskRetentionSeconds < 0)
    return Error::make(ErrorCode::kInvalidParameter, "--stopped-task-retention must be >= 0");
  if (config.instanceLostTimeoutSeconds < control::kMinInstanceLostTimeout.count())
    return Error::make(ErrorCode::kInvalidParameter,
                       "--instance-lost-timeout must be >= 30 seconds: an agent's long poll lasts up to 20 s");
  std::error_code ec;
  std::filesystem::create_directories(config.dataDir, ec);
  if (ec) return Error::make(ErrorCode::kIo, "cannot create data dir: " + ec.message(), config.dataDir);
  ::chmod(config.dataDir.c_str(), 0700);

  auto p = std::make_unique<Parts>();
  p->config = config;
  auto creds = api::loadOrCreateBootstrapCredentials(config.dataDir, p->random);
  if (!creds.ok()) return creds.takeError();
  if (creds->generated) {
    std::cout << "Generated credentials (saved to " << creds->source << ", mode 0600):\n"
              << "  AWS_ACCESS_KEY_ID=" << creds->credentials.accessKeyId << "\n"
              << "  AWS_SECRET_ACCESS_KEY=" << creds->credentials.secretAccessKey << "\n"
              << std::flush;
  }
  p->credentials = creds->credentials;
  p->credentialProvider = std::make_unique<api::StaticCredentialProvider>(std::vector<api::AwsCredentials>{p->credentials});
  p->taskCredentials = std::make_unique<api::TaskCredentialIssuer>(api::deriveTaskCredentialKey(p->credentials),
                                                                   *p->credentialProvider, p->clock, p->random);

  auto store = store::openSqliteStore((std::filesystem::path(config.dataDir) / "state.db").string());
  if (!store.ok()) return store.takeError();
  p->store = std::move(*store);
  auto cache = control::StateCache::open(*p->store);
  if (!cache.ok()) return cache.takeError();
  p->cache = std::move(*cache);
  p->placement = std::make_unique<control::PlacementIndex>(*p->cache);

  p->ecs = std::make_unique<control::EcsContext>(control::EcsContext{
      *p->store, *p->cache, p->clock, p->random, control::AccountInfo{config.accountId, config.region, "aws"},
      p->placement.get()});
  std::filesystem::create_directories(std::filesystem::path(config.dataDir) / "events", ec);
  auto eventLog = events::EventLog::open((std::filesystem::path(config.dataDir) / "events" / "events.db").string(),
                                         p->clock);
  if (!eventLog.ok()) return eventLog.takeError();
  p->eventLog = std::move(*eventLog);
  p->eventSink = std::make_unique<api::EventLogSink>(*p->eventLog);
  p->ecs->events = p->eventSink.get();
  p->eventSource = std::make_unique<control::EcsEventSource>(*p->ecs, *p->eventSink);
  p->eventsApi = std::make_unique<api::EventsApi>(*p->eventLog, p->ecs->account);
  p->agentChannel = std::make_unique<control::AgentChannel>(
      *p->ecs, control::livenessOptions(std::chrono::seconds(config.instanceLostTimeoutSeconds)));
  p->serviceController = std::make_unique<control::ServiceController>(*p->ecs);
  auto blobs = blobstore::BlobStore::open((std::filesystem::path(config.dataDir) / "registry").string(), p->clock,
                                          p->random);
  if (!blobs.ok()) return blobs.takeError();
  p->blobs = std::move(*blobs);
  p->registryTokens = std::make_unique<api::RegistryTokens>(*p->credentialProvider);
  // SecureString values are sealed with a key kept beside the state (mode 0600).
  auto ssmCipher = ssm::ParameterCipher::openKeyFile((std::filesystem::path(config.dataDir) / "ssm.key").string());
  if (!ssmCipher.ok()) return ssmCipher.takeError();
  p->ssmCipher = std::move(*ssmCipher);
  p->ssm = std::make_unique<ssm::SsmContext>(ssm::SsmContext{*p->ecs, *p->ssmCipher});
  std::filesystem::create_directories(std::filesystem::path(config.dataDir) / "logs", ec);
  auto logStore = logs::LogStore::open((std::filesystem::path(config.dataDir) / "logs" / "logs.db").string(), p->clock,
                                       {config.accountId, config.region});
  if (!logStore.ok()) return logStore.takeError();
  p->logStore = std::move(*logStore);

  api::HttpServerOptions options;
  options.host = hostPort->first;
  options.port = hostPort->second;
  options.maxBodyBytes = config.maxBodyBytes;
  options.workerThreads = config.workerThreads;
  options.maxEventStreams = static_cast<std::size_t>(std::clamp(config.workerThreads / 2, 1, 32));
  options.errorResponse = api::FrontDoor::transportError;
  options.streamBody = api::OciDistributionApi::streamsBody;
  auto* door = &p->door;
  auto http = api::HttpServer::start(options, [door](const api::HttpRequest& r) {
    auto* frontDoor = door->load();
    if (!frontDoor) return api::FrontDoor::transportError(503, "The server is starting.");
    return frontDoor->handle(r);
  });
  if (!http.ok()) return http.takeError();
  p->http = std::move(*http);

  const std::string url = publicUrl(p->http->address());
  p->layers = std::make_unique<registry::LayerUploadApi>(*p->ecs, *p->blobs, url);
  p->router.addService(api::makeEcsService(*p->ecs));
  p->router.addService(api::makeAgentService(*p->agentChannel, p->taskCredentials.get()));
  p->router.addService(api::makeEcrService({*p->ecs, *p->layers, *p->registryTokens, url}));
  p->router.addService(api::makeSsmService(*p->ssm));
  p->router.addService(api::makeLogsService(*p->logStore));
  api::OciDistributionOptions registryOptions;
  registryOptions.autoCreateRepositories = config.registryAutoCreate;
  p->registryApi = std::make_unique<api::OciDistributionApi>(*p->ecs, *p->blobs, *p->registryTokens, registryOptions);
  p->frontDoor = std::make_unique<api::FrontDoor>(*p->taskCredentials, config.region, p->clock, p->random,
                                                  p->router, p->registryApi.get(), p->eventsApi.get());
  p->door.store(p->frontDoor.get());
  p->serviceController->start();

  auto* raw = p.get();
  p->housekeeper = std::thread([raw] { raw->housekeep(); });
  log::info("berth server listening", {{"address", p->http->address()},
                                       {"dataDir", config.dataDir},
                                       {"region", config.region},
                                       {"accountId", config.accountId},
                                       {"revision", p->cache->revision()}});
  return std::unique_ptr<ServerRuntime>(new ServerRuntime(std::move(p)));
}

void ServerRuntime::releaseWaiters() { parts_->agentChannel->shutdown(); }

void ServerRuntime::shutdown() {
  auto& p = *parts_;
  if (p.stopped) return;
  p.stopped = true;
  p.agentChannel->shutdown();  // long polls answer now instead of holding the HTTP shutdown
  p.http->shutdown();          // in-flight requests finish and are answered
  {
    std::lock_guard lock(p.housekeepingMu);
    p.housekeepingStop = true;
  }
  p.housekeepingCv.notify_all();
  if (p.housekeeper.joinable()) p.housekeeper.join();
  p.serviceController.reset();  // joins its thread and unhooks its cache observer
  p.eventSource.reset();        // unhooks its cache observer
  p.placement.reset();          // likewise
  p.cache.reset();
  p.store->close();  // queued writes commit, SQLite closes cleanly
  p.logStore->close();
  p.eventLog->close();  // commits queued events
  log::info("stopped");
}

}  // namespace berth::cmd

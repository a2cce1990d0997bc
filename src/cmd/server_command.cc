#include "cmd/server_command.h"

#include <signal.h>
#include <sys/stat.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <thread>

#include "api/agent_api.h"
#include "api/credentials.h"
#include "api/ecs_api.h"
#include "api/front_door.h"
#include "api/http_server.h"
#include "api/json_protocol_router.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "control/agent_channel.h"
#include "control/state_cache.h"
#include "control/task_ops.h"
#include "store/sqlite_store.h"

namespace berth::cmd {
namespace {

bool splitHostPort(const std::string& listen, std::string& host, std::uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    int p = std::stoi(listen.substr(colon + 1));
    if (p < 0 || p > 65535) return false;
    port = static_cast<std::uint16_t>(p);
  } catch (...) {
    return false;
  }
  return !host.empty();
}

int fail(const std::string& what, const Error& e) {
  log::error(what, {{"error", e.message}, {"context", e.context}});
  std::cerr << "berth: " << what << ": " << e.message << (e.context.empty() ? "" : " (" + e.context + ")") << "\n";
  return 1;
}

}  // namespace

int runServer(const ServerConfig& config) {
  log::Level level;
  if (!log::parseLevel(config.logLevel, level)) {
    std::cerr << "berth: --log-level must be debug, info, warn or error\n";
    return 2;
  }
  log::setLevel(level);
  std::string host;
  std::uint16_t port = 0;
  if (!splitHostPort(config.listen, host, port)) {
    std::cerr << "berth: --listen must be HOST:PORT, got '" << config.listen << "'\n";
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(config.dataDir, ec);
  if (ec) {
    std::cerr << "berth: cannot create data dir " << config.dataDir << ": " << ec.message() << "\n";
    return 1;
  }
  ::chmod(config.dataDir.c_str(), 0700);

  // Block the shutdown signals in every thread we start; main waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  SystemClock clock;
  SystemRandom random;

  auto creds = api::loadOrCreateBootstrapCredentials(config.dataDir, random);
  if (!creds.ok()) return fail("loading credentials failed", creds.error());
  if (creds->generated) {
    // Printed once, on the start that created them; afterwards they live in DIR/credentials.
    std::cout << "Generated credentials (saved to " << creds->source << ", mode 0600):\n"
              << "  AWS_ACCESS_KEY_ID=" << creds->credentials.accessKeyId << "\n"
              << "  AWS_SECRET_ACCESS_KEY=" << creds->credentials.secretAccessKey << "\n"
              << std::flush;
  }
  api::StaticCredentialProvider credentialProvider({creds->credentials});

  auto store = store::openSqliteStore((std::filesystem::path(config.dataDir) / "state.db").string());
  if (!store.ok()) return fail("opening the state store failed", store.error());
  auto cache = control::StateCache::open(**store);
  if (!cache.ok()) return fail("loading state failed", cache.error());

  control::EcsContext ecs{**store, **cache, clock, random,
                          control::AccountInfo{config.accountId, config.region, "aws"}};
  control::AgentChannel agentChannel(ecs);
  api::JsonProtocolRouter router;
  router.addService(api::makeEcsService(ecs));
  router.addService(api::makeAgentService(agentChannel));
  api::FrontDoor frontDoor(credentialProvider, config.region, clock, random, router);

  api::HttpServerOptions options;
  options.host = host;
  options.port = port;
  options.maxBodyBytes = config.maxBodyBytes;
  options.workerThreads = config.workerThreads;
  options.errorResponse = api::FrontDoor::transportError;
  auto server = api::HttpServer::start(options, [&frontDoor](const api::HttpRequest& r) { return frontDoor.handle(r); });
  if (!server.ok()) return fail("starting the HTTP server failed", server.error());

  log::info("berth server listening", {{"address", (*server)->address()},
                                       {"dataDir", config.dataDir},
                                       {"region", config.region},
                                       {"accountId", config.accountId},
                                       {"revision", (*cache)->revision()}});
  std::cout << "berth server listening on http://" << (*server)->address() << std::endl;

  // Housekeeping: agent liveness every 10 s, the stopped-task reaper every minute.
  // TODO(tasks): take the retention from a --stopped-task-retention flag (ServerConfig). #3
  const std::chrono::seconds stoppedTaskRetention = control::kDefaultStoppedTaskRetention;
  std::mutex housekeepingMu;
  std::condition_variable housekeepingCv;
  bool housekeepingStop = false;
  std::thread housekeeper([&] {
    auto lastReap = clock.monotonicNow();
    std::unique_lock lock(housekeepingMu);
    while (!housekeepingCv.wait_for(lock, std::chrono::seconds(10), [&] { return housekeepingStop; })) {
      lock.unlock();
      agentChannel.markDisconnectedAgents();
      if (clock.monotonicNow() - lastReap >= std::chrono::minutes(1)) {
        lastReap = clock.monotonicNow();
        auto reaped = control::reapStoppedTasks(ecs, clock.now(), stoppedTaskRetention);
        if (!reaped.ok()) log::warn("reaping stopped tasks failed", {{"error", reaped.error().message}});
        else if (*reaped > 0) log::info("reaped stopped tasks and deregistered instances", {{"count", *reaped}});
      }
      lock.lock();
    }
  });

  int sig = 0;
  sigwait(&signals, &sig);
  log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  agentChannel.shutdown();  // long polls answer now instead of holding the HTTP shutdown
  (*server)->shutdown();  // in-flight requests finish and are answered
  {
    std::lock_guard lock(housekeepingMu);
    housekeepingStop = true;
  }
  housekeepingCv.notify_all();
  housekeeper.join();
  cache->reset();
  (*store)->close();      // queued writes commit, SQLite closes cleanly
  log::info("stopped");
  return 0;
}

}  // namespace berth::cmd

#include "cmd/server_command.h"

#include <signal.h>

#include <filesystem>
#include <iostream>

#include "cmd/process_setup.h"
#include "common/log.h"

namespace berth::cmd {
namespace {

int fail(const std::string& what, const Error& e) {
  log::error(what, {{"error", e.message}, {"context", e.context}});
  std::cerr << "berth: " << what << ": " << e.message << (e.context.empty() ? "" : " (" + e.context + ")") << "\n";
  return e.code == ErrorCode::kInvalidParameter ? 2 : 1;
}

int waitForSignal(const sigset_t& signals) {
  int sig = 0;
  sigwait(&signals, &sig);
  log::info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  return sig;
}

}  // namespace

int runServer(const ServerConfig& config) {
  if (!applyLogLevel(config.logLevel)) return 2;
  sigset_t signals = blockShutdownSignals();
  auto server = ServerRuntime::start(config);
  if (!server.ok()) return fail("starting the server failed", server.error());
  std::cout << "berth server listening on http://" << (*server)->address() << std::endl;
  waitForSignal(signals);
  (*server)->shutdown();
  return 0;
}

int runUp(const ServerConfig& config, AgentConfig agent) {
  if (!applyLogLevel(config.logLevel)) return 2;
  sigset_t signals = blockShutdownSignals();
  auto server = ServerRuntime::start(config);
  if (!server.ok()) return fail("starting the server failed", server.error());
  std::cout << "berth server listening on http://" << (*server)->address() << std::endl;

  agent.server = "http://" + (*server)->address();
  agent.region = config.region;
  if (agent.dataDir.empty()) agent.dataDir = (std::filesystem::path(config.dataDir) / "agent").string();
  auto node = NodeAgent::start(agent, (*server)->credentials());
  if (!node.ok()) {
    (*server)->shutdown();
    return fail("starting the local agent failed", node.error());
  }
  std::cout << "berth agent joined cluster " << agent.cluster << std::endl;

  waitForSignal(signals);
  (*node)->stop();              // the poll loop ends after its current poll...
  (*server)->releaseWaiters();  // ...which the server answers at once
  node->reset();                // containers keep running; the record is saved
  (*server)->shutdown();
  return 0;
}

}  // namespace berth::cmd

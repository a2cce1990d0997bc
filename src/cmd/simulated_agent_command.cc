// `berth agent --simulate N`: wires a SimulatedFleet to the server. No logic.
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <sstream>

#include "agent/fleet_channel.h"
#include "agent/simulated_fleet.h"
#include "cmd/agent_command.h"
#include "cmd/process_setup.h"
#include "common/log.h"

namespace berth::cmd {

namespace {

std::vector<std::string> splitZones(const std::string& list) {
  std::vector<std::string> zones;
  std::stringstream in(list);
  std::string zone;
  while (std::getline(in, zone, ','))
    if (!zone.empty()) zones.push_back(zone);
  return zones;
}

std::string envOr(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

}  // namespace

int runSimulatedAgents(const AgentConfig& config, const api::AwsCredentials& credentials) {
  sigset_t signals = blockShutdownSignals();
  auto endpoint = agent::parseServerUrl(config.server);
  if (!endpoint.ok()) {
    std::cerr << "berth agent: " << endpoint.error().message << "\n";
    return 2;
  }
  endpoint->region = !config.region.empty() ? config.region : envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", "us-east-1"));
  endpoint->credentials = credentials;

  agent::SimulatedFleetOptions options;
  options.count = config.simulate;
  options.instance.cluster = config.cluster;
  options.instance.instanceType = config.instanceType;
  options.instance.cpuUnits = config.cpu;
  options.instance.memoryMiB = config.memory;
  options.availabilityZones = splitZones(config.availabilityZone);
  if (options.availabilityZones.empty()) {
    std::cerr << "berth agent: --availability-zone lists no zone\n";
    return 2;
  }
  options.instance.availabilityZone = options.availabilityZones.front();
  for (const auto& a : config.attributes) {
    auto eq = a.find('=');
    if (eq == std::string::npos || eq == 0) {
      std::cerr << "berth agent: --attribute must be KEY=VALUE (" << a << ")\n";
      return 2;
    }
    options.instance.attributes.emplace_back(a.substr(0, eq), a.substr(eq + 1));
  }
  options.delays.start = std::chrono::milliseconds(config.simulateStartDelayMs);
  options.delays.stop = std::chrono::milliseconds(config.simulateStopDelayMs);
  std::error_code ec;
  std::filesystem::create_directories(config.dataDir, ec);
  if (ec) {
    std::cerr << "berth agent: cannot create data dir " << config.dataDir << ": " << ec.message() << "\n";
    return 1;
  }
  options.dataDir = std::filesystem::absolute(config.dataDir).string();

  SystemClock clock;
  agent::ServerClient client(*endpoint, clock);
  agent::ServerFleetChannel channel(client);
  agent::SimulatedFleet fleet(options, channel, clock);
  // Registration can take a while at scale: a signal during it ends it.
  std::thread startWatcher;
  std::atomic<bool> started{false};
  auto st = fleet.start();
  if (!st.ok()) {
    std::cerr << "berth agent: " << st.error().message
              << (st.error().context.empty() ? "" : " (" + st.error().context + ")") << "\n";
    return 1;
  }
  std::cout << "berth agent simulating " << config.simulate << " container instances (cluster " << config.cluster << ")"
            << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  log::info("simulated agents shutting down", {{"signal", sig}});
  fleet.stop();
  return 0;
}

}  // namespace berth::cmd

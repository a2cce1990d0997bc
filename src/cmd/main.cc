// berth: one binary, every role. This file only parses the command line.
#include <CLI/CLI.hpp>

#include <iostream>

#include "cmd/agent_command.h"
#include "cmd/events_command.h"
#include "cmd/server_command.h"

int main(int argc, char** argv) {
  CLI::App app{"Berth: a self-hosted container orchestrator that speaks the Amazon ECS APIs"};
  app.require_subcommand(1);

  berth::cmd::ServerConfig config;
  auto addServerFlags = [&config](CLI::App* sub) {
    sub->add_option("--listen", config.listen, "HOST:PORT to serve the API on")->capture_default_str();
    sub->add_option("--data-dir", config.dataDir, "directory for state, credentials and logs")->capture_default_str();
    sub->add_option("--account-id", config.accountId, "12-digit account id used in every ARN")
        ->capture_default_str()
        ->check([](const std::string& s) {
          return s.size() == 12 && s.find_first_not_of("0123456789") == std::string::npos ? "" : "must be 12 digits";
        });
    sub->add_option("--region", config.region, "region used in every ARN and expected in SigV4 scopes")->capture_default_str();
    sub->add_option("--max-body-bytes", config.maxBodyBytes, "largest request body accepted")->capture_default_str();
    sub->add_option("--worker-threads", config.workerThreads, "threads running API handlers")->capture_default_str()
        ->check(CLI::Range(1, 1024));
    sub->add_option("--log-level", config.logLevel, "debug, info, warn or error")->capture_default_str();
    sub->add_option("--stopped-task-retention", config.stoppedTaskRetentionSeconds,
                    "seconds a STOPPED task stays describable")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--registry-maintenance-interval", config.registryMaintenanceSeconds,
                    "seconds between registry lifecycle-policy runs and garbage collection")
        ->capture_default_str()
        ->check(CLI::Range(1, 86400));
    sub->add_option("--registry-gc-grace", config.registryGcGraceSeconds,
                    "seconds an unreferenced blob or blob link is kept before garbage collection")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub->add_option("--logs-retention-interval", config.logsRetentionSeconds,
                    "seconds between CloudWatch Logs retention runs")
        ->check(CLI::Range(1, 86400))
        ->group("");  // hidden: tests shorten it
    sub->add_option("--instance-lost-timeout", config.instanceLostTimeoutSeconds,
                    "seconds without a heartbeat from an agent after which its container instance is lost and "
                    "its tasks are STOPPED (the instance stays registered; its agent may come back)")
        ->capture_default_str()
        ->check([](const std::string& s) -> std::string {
          try {
            std::size_t used = 0;
            const long long v = std::stoll(s, &used);
            if (used == s.size() && v >= 30) return "";
          } catch (const std::exception&) {
          }
          return "must be a whole number of seconds >= 30: an agent's long poll lasts up to 20 s, so a shorter "
                 "timeout could declare a live agent lost between two of its polls";
        });
    sub->add_flag("--registry-auto-create", config.registryAutoCreate,
                  "create a repository on its first push to /v2/ (ECR requires CreateRepository first)");
  };
  auto* server = app.add_subcommand("server", "run the control plane (API, state store, reconcilers)");
  addServerFlags(server);
  auto* up = app.add_subcommand("up", "run the embedded default: server plus a local agent, SQLite state under --data-dir");
  addServerFlags(up);

  berth::cmd::AgentConfig agentConfig;
  auto* agent = app.add_subcommand("agent", "run the node agent: register this machine and run its tasks");
  agent->add_option("--server", agentConfig.server, "server URL, http://HOST:PORT")->required();
  agent->add_option("--cluster", agentConfig.cluster, "cluster to join (created if missing)")->capture_default_str();
  agent->add_option("--data-dir", agentConfig.dataDir, "agent state, images and task files")->capture_default_str();
  agent->add_option("--attribute", agentConfig.attributes, "custom attribute KEY=VALUE (repeatable)");
  agent->add_option("--availability-zone", agentConfig.availabilityZone, "ecs.availability-zone attribute")
      ->capture_default_str();
  agent->add_option("--instance-type", agentConfig.instanceType, "ecs.instance-type attribute")->capture_default_str();
  agent->add_option("--cpu", agentConfig.cpu, "CPU units to register (default 1024 per core)")->check(CLI::NonNegativeNumber);
  agent->add_option("--memory", agentConfig.memory, "MiB of memory to register (default detected less 256)")
      ->check(CLI::NonNegativeNumber);
  agent->add_option("--region", agentConfig.region, "region for SigV4 (default AWS_REGION or us-east-1)");
  agent->add_option("--pull-behavior", agentConfig.pullBehavior, "default, always, once or prefer-cached")
      ->capture_default_str();
  agent->add_flag("--fake-runtime", agentConfig.fakeRuntime, "run no containers (tests): tasks move through their lifecycle in memory");
  agent->add_option("--simulate", agentConfig.simulate,
                    "stand for N simulated container instances that run tasks with no containers (scale tests); "
                    "--availability-zone may then be a comma-separated list, assigned round-robin")
      ->check(CLI::Range(0, 100000));
  agent->add_option("--simulate-start-delay", agentConfig.simulateStartDelayMs, "ms from PENDING to RUNNING of a simulated task")
      ->check(CLI::NonNegativeNumber);
  agent->add_option("--simulate-stop-delay", agentConfig.simulateStopDelayMs, "ms from a stop request to STOPPED of a simulated task")
      ->check(CLI::NonNegativeNumber);
  agent->add_option("--log-level", agentConfig.logLevel, "debug, info, warn or error")->capture_default_str();
  auto addNodeNetworkFlags = [](CLI::App* sub, berth::cmd::AgentConfig& c) {
    sub->add_option("--bridge-name", c.bridgeName, "Linux bridge for networkMode bridge tasks")->capture_default_str();
    sub->add_option("--bridge-subnet", c.bridgeSubnet, "IPv4 subnet of the bridge network (CIDR)")->capture_default_str();
    sub->add_option("--awsvpc-bridge-name", c.awsvpcBridgeName, "Linux bridge for networkMode awsvpc tasks")
        ->capture_default_str();
    sub->add_option("--awsvpc-subnet", c.awsvpcSubnet, "IPv4 subnet awsvpc tasks get their addresses from (CIDR)")
        ->capture_default_str();
    sub->add_option("--dynamic-host-port-range", c.dynamicHostPortRange,
                    "LOW-HIGH range for dynamic host ports (default: net.ipv4.ip_local_port_range)");
    sub->add_option("--metadata-port", c.metadataPort,
                    "loopback port of the task metadata/credentials endpoint for host-mode tasks")
        ->capture_default_str()
        ->check(CLI::Range(1, 65535));
  };
  addNodeNetworkFlags(agent, agentConfig);

  // `up` runs a local agent too: the agent settings that make sense next to the server.
  berth::cmd::AgentConfig upAgent;
  upAgent.dataDir.clear();  // DIR/agent
  up->add_option("--cluster", upAgent.cluster, "cluster the local agent joins")->capture_default_str();
  up->add_option("--attribute", upAgent.attributes, "custom attribute KEY=VALUE for the local instance (repeatable)");
  up->add_option("--availability-zone", upAgent.availabilityZone, "ecs.availability-zone of the local instance")
      ->capture_default_str();
  up->add_option("--cpu", upAgent.cpu, "CPU units to register (default 1024 per core)")->check(CLI::NonNegativeNumber);
  up->add_option("--memory", upAgent.memory, "MiB of memory to register")->check(CLI::NonNegativeNumber);
  up->add_option("--pull-behavior", upAgent.pullBehavior, "default, always, once or prefer-cached")->capture_default_str();
  up->add_flag("--fake-runtime", upAgent.fakeRuntime, "run no containers (tests)");
  addNodeNetworkFlags(up, upAgent);

  berth::cmd::EventsConfig eventsConfig;
  auto* events = app.add_subcommand("events", "print the server's ECS events (EventBridge JSON, one per line)");
  events->add_option("--server", eventsConfig.server, "server URL, http://HOST:PORT")->capture_default_str();
  events->add_option("--cluster", eventsConfig.cluster, "only events of this cluster (name or ARN)");
  events->add_option("--detail-type", eventsConfig.detailType, "only this detail-type, e.g. \"ECS Task State Change\"");
  events->add_option("--since", eventsConfig.since,
                     "print events after this sequence number (default: all; with --follow: only new ones)");
  events->add_flag("--follow,-f", eventsConfig.follow, "keep printing new events until interrupted");
  events->add_option("--region", eventsConfig.region, "region for SigV4 (default AWS_REGION or us-east-1)");
  events->add_option("--data-dir", eventsConfig.dataDir,
                     "the server's data dir: use its bootstrap credentials (default: BERTH_*/AWS_* env)");

  CLI11_PARSE(app, argc, argv);
  if (events->parsed()) return berth::cmd::runEvents(eventsConfig);
  if (server->parsed()) return berth::cmd::runServer(config);
  if (up->parsed()) return berth::cmd::runUp(config, upAgent);
  if (agent->parsed()) return berth::cmd::runAgent(agentConfig);
  std::cerr << app.help();
  return 2;
}

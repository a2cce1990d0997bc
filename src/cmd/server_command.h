#pragma once
// `berth server` and `berth up`: start the control plane (and, for up, a local
// agent), then wait for SIGTERM/SIGINT and shut down gracefully.
#include "cmd/agent_command.h"
#include "cmd/server_runtime.h"

namespace berth::cmd {

// Returns the process exit code.
int runServer(const ServerConfig& config);

// The embedded default: server plus one local agent in this process, agent
// state under DIR/agent. `agent` supplies the agent's optional settings.
int runUp(const ServerConfig& config, AgentConfig agent);

}  // namespace berth::cmd

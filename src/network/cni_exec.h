#pragma once
// Running one CNI plugin binary (CNI spec "Execution Protocol"): parameters in
// CNI_* environment variables, the network config on stdin, the result or an
// error object on stdout. The invoker talks to plugins only through CniExec,
// so the chaining logic is unit-tested with a fake and no root.
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::network {

struct CniExecRequest {
  std::string pluginPath;            // e.g. /usr/lib/cni/bridge
  std::vector<std::string> env;      // "CNI_COMMAND=ADD", ... (added to the agent's environment)
  std::string stdinData;             // the plugin's network config
};

struct CniExecOutput {
  int exitCode = 0;  // 128+signal when killed
  std::string out;
  std::string err;
};

// Runs the plugin to completion. Errors only when it could not run at all or
// timed out; a non-zero exit is returned as exitCode for the caller to decode.
using CniExec = std::function<Result<CniExecOutput>(const CniExecRequest&)>;

// The real thing: posix_spawn, stdin fed and stdout/stderr drained with a
// deadline; on timeout the plugin is SIGKILLed and reaped (kUnavailable).
CniExec processCniExec(std::chrono::milliseconds timeoutPerPlugin);

// Same machinery for helper commands (ip link ...): argv[0] is an absolute path.
Result<CniExecOutput> runWithInput(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                   const std::string& stdinData, std::chrono::milliseconds timeout);

}  // namespace berth::network

#pragma once
// Spawning helper processes (runc, conmon) without leaking descriptors:
// posix_spawn with every descriptor above the mapped ones closed in the child,
// default signal dispositions and an empty signal mask, and a deadline on
// everything we wait for.
#include <sys/types.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"

namespace berth::runtime {

struct SpawnSpec {
  std::vector<std::string> argv;      // argv[0] is the executable path
  std::vector<std::string> extraEnv;  // "NAME=value", added to this process's environment
  std::string cwd;                    // empty = inherit
  int stdinFd = -1;                   // -1 = /dev/null
  int stdoutFd = -1;
  int stderrFd = -1;
  // (descriptor here, descriptor number in the child); child numbers >= 3.
  std::vector<std::pair<int, int>> extraFds;
};

// Starts the process; the caller reaps it (waitForExit).
Result<pid_t> spawnProcess(const SpawnSpec& spec);

// Waits for a child to exit; returns its wait status. kUnavailable on timeout
// (the child is left running).
Result<int> waitForExit(pid_t pid, std::chrono::milliseconds timeout);

struct CommandResult {
  int exitCode = 0;  // 128+signal when killed by a signal
  std::string out;
  std::string err;
};

// Runs argv to completion, capturing stdout and stderr. On timeout the child
// is SIGKILLed and reaped, and kUnavailable is returned. A non-zero exit is
// not an error here: callers interpret it.
Result<CommandResult> runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// Whether `pid` is alive and its command line contains `marker` (guards
// against pid reuse for processes that are not our children, e.g. conmon).
bool processAlive(pid_t pid, const std::string& marker);

// Polls until processAlive(pid, marker) is false or the timeout passes.
bool waitUntilGone(pid_t pid, const std::string& marker, std::chrono::milliseconds timeout);

}  // namespace berth::runtime

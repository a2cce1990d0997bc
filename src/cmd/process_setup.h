#pragma once
// Process-level setup shared by every long-running `berth` subcommand.
#include <signal.h>

#include <iostream>
#include <string>

#include "common/log.h"

namespace berth::cmd {

// Blocks SIGTERM/SIGINT in this thread and every thread started after it, so
// the main thread alone receives them through sigwait; ignores SIGPIPE.
inline sigset_t blockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return signals;
}

// Applies --log-level; false (after telling the user) if the name is unknown.
inline bool applyLogLevel(const std::string& name) {
  log::Level level;
  if (!log::parseLevel(name, level)) {
    std::cerr << "berth: --log-level must be debug, info, warn or error\n";
    return false;
  }
  log::setLevel(level);
  return true;
}

}  // namespace berth::cmd

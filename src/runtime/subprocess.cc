#include "runtime/subprocess.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <thread>

#include "common/unique_fd.h"

extern char** environ;

namespace berth::runtime {
namespace {

using Clock = std::chrono::steady_clock;

Error sysError(const std::string& what) {
  return Error::make(ErrorCode::kInternal, what + ": " + std::strerror(errno));
}

using Fd = UniqueFd;

int waitStatusToExitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// glibc 2.36's <sys/pidfd.h> lacks C linkage for C++, so call it directly.
int openPidfd(pid_t pid) { return static_cast<int>(syscall(SYS_pidfd_open, pid, 0)); }

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return static_cast<int>(std::max<long long>(left, 0));
}

}  // namespace

Result<pid_t> spawnProcess(const SpawnSpec& spec) {
  if (spec.argv.empty()) return Error::make(ErrorCode::kInternal, "spawnProcess: empty argv");

  // Move every source descriptor above the highest target first, so one
  // dup2 can never clobber the source of another, and so no source equals
  // its target (dup2 onto itself would keep FD_CLOEXEC).
  int highestTarget = 2;
  for (const auto& [src, dst] : spec.extraFds) highestTarget = std::max(highestTarget, dst);
  std::vector<Fd> temps;
  auto lift = [&](int fd) -> Result<int> {
    int copy = fcntl(fd, F_DUPFD_CLOEXEC, highestTarget + 1);
    if (copy < 0) return sysError("dup of a descriptor for the child");
    temps.emplace_back(copy);
    return copy;
  };
  Fd devNull(open("/dev/null", O_RDWR | O_CLOEXEC));
  if (devNull.get() < 0) return sysError("open /dev/null");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  auto mapFd = [&](int src, int dst) -> Status {
    auto lifted = lift(src >= 0 ? src : devNull.get());
    if (!lifted) return lifted.takeError();
    posix_spawn_file_actions_adddup2(&actions, *lifted, dst);
    return okStatus();
  };
  Status mapped = mapFd(spec.stdinFd, 0);
  if (mapped) mapped = mapFd(spec.stdoutFd, 1);
  if (mapped) mapped = mapFd(spec.stderrFd, 2);
  for (const auto& [src, dst] : spec.extraFds) {
    if (mapped) mapped = mapFd(src, dst);
  }
  if (!mapped) {
    posix_spawn_file_actions_destroy(&actions);
    return mapped.takeError();
  }
  posix_spawn_file_actions_addclosefrom_np(&actions, highestTarget + 1);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());

  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> envStrings;
  for (char** e = environ; e && *e; ++e) envStrings.emplace_back(*e);
  for (const auto& extra : spec.extraEnv) {
    const auto name = extra.substr(0, extra.find('=') + 1);
    std::erase_if(envStrings, [&](const std::string& s) { return s.rfind(name, 0) == 0; });
    envStrings.push_back(extra);
  }
  std::vector<char*> envp;
  for (auto& s : envStrings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> argvCopy = spec.argv;
  std::vector<char*> argv;
  for (auto& s : argvCopy) argv.push_back(s.data());
  argv.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Error::make(ErrorCode::kInternal, "cannot start " + spec.argv[0] + ": " + std::strerror(rc),
                       spec.argv[0]);
  }
  return pid;
}

Result<int> waitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  Fd pidfd(openPidfd(pid));
  const auto deadline = Clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 && errno != EINTR) return sysError("waitpid");
    if (Clock::now() >= deadline) {
      return Error::make(ErrorCode::kUnavailable, "process " + std::to_string(pid) + " did not exit in time");
    }
    if (pidfd.get() >= 0) {
      struct pollfd p {pidfd.get(), POLLIN, 0};
      poll(&p, 1, std::min(remainingMs(deadline), 1000));
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
}

Result<CommandResult> runCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  int outPipe[2], errPipe[2];
  if (pipe2(outPipe, O_CLOEXEC) != 0) return sysError("pipe");
  Fd outR(outPipe[0]), outW(outPipe[1]);
  if (pipe2(errPipe, O_CLOEXEC) != 0) return sysError("pipe");
  Fd errR(errPipe[0]), errW(errPipe[1]);

  SpawnSpec spec;
  spec.argv = argv;
  spec.stdoutFd = outW.get();
  spec.stderrFd = errW.get();
  auto pid = spawnProcess(spec);
  if (!pid) return pid.takeError();
  outW.reset();
  errW.reset();
  Fd pidfd(openPidfd(*pid));

  CommandResult result;
  const auto deadline = Clock::now() + timeout;
  bool outOpen = true, errOpen = true, exited = false;
  int status = 0;
  // Read until the child has exited and both pipes are drained. A grandchild
  // that inherited the pipes must not hold us past the child's exit, so once
  // the child is gone we only take what is already buffered.
  while (true) {
    if (!exited) {
      pid_t r = waitpid(*pid, &status, WNOHANG);
      if (r == *pid) exited = true;
    }
    if ((!outOpen && !errOpen) && exited) break;
    if (Clock::now() >= deadline) {
      kill(*pid, SIGKILL);
      if (!exited) waitpid(*pid, &status, 0);
      std::string cmd;
      for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
      return Error::make(ErrorCode::kUnavailable,
                         "'" + cmd + "' did not finish within " + std::to_string(timeout.count()) + " ms", argv[0]);
    }
    std::vector<pollfd> fds;
    if (outOpen) fds.push_back({outR.get(), POLLIN, 0});
    if (errOpen) fds.push_back({errR.get(), POLLIN, 0});
    if (!exited && pidfd.get() >= 0) fds.push_back({pidfd.get(), POLLIN, 0});
    int wait = exited ? 0 : std::min(remainingMs(deadline), pidfd.get() >= 0 ? 1000 : 5);
    int n = poll(fds.data(), fds.size(), wait);
    if (n < 0 && errno != EINTR) return sysError("poll");
    bool readAny = false;
    for (const auto& p : fds) {
      if (p.fd == pidfd.get() || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[4096];
      ssize_t got = read(p.fd, buf, sizeof buf);
      if (got > 0) {
        (p.fd == outR.get() ? result.out : result.err).append(buf, static_cast<std::size_t>(got));
        readAny = true;
      } else if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
        (p.fd == outR.get() ? outOpen : errOpen) = false;
      }
    }
    if (exited && !readAny) break;  // nothing buffered; a grandchild may hold the pipe
  }
  result.exitCode = waitStatusToExitCode(status);
  return result;
}

bool processAlive(pid_t pid, const std::string& marker) {
  if (pid <= 0) return false;
  if (kill(pid, 0) != 0 && errno == ESRCH) return false;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string statLine;
  std::getline(stat, statLine);
  // A zombie is gone for our purposes (its parent just has not reaped it).
  if (auto close = statLine.rfind(')'); close != std::string::npos && close + 2 < statLine.size()) {
    if (statLine[close + 2] == 'Z') return false;
  }
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  std::replace(args.begin(), args.end(), '\0', ' ');
  return args.find(marker) != std::string::npos;
}

bool waitUntilGone(pid_t pid, const std::string& marker, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (processAlive(pid, marker)) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

}  // namespace berth::runtime

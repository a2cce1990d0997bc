#include "network/cni_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/unique_fd.h"
#include "runtime/subprocess.h"

namespace berth::network {
namespace {

Error sysError(const std::string& what, int err) {
  return Error::make(ErrorCode::kInternal, what + ": " + std::strerror(err));
}

Result<std::pair<UniqueFd, UniqueFd>> makePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return sysError("pipe", errno);
  return std::pair<UniqueFd, UniqueFd>{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

// A plugin that exits before reading its config turns our write into
// SIGPIPE, which would kill the agent. Block it in this thread while feeding
// stdin, and swallow a pending one before unblocking (EPIPE is handled).
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~SigpipeBlock() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    timespec zero{0, 0};
    while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t old_;
};

int exitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

}  // namespace

Result<CniExecOutput> runWithInput(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                                   const std::string& stdinData, std::chrono::milliseconds timeout) {
  auto in = makePipe();
  if (!in) return in.takeError();
  auto out = makePipe();
  if (!out) return out.takeError();
  auto err = makePipe();
  if (!err) return err.takeError();

  runtime::SpawnSpec spec;
  spec.argv = argv;
  spec.extraEnv = env;
  spec.stdinFd = in->first.get();
  spec.stdoutFd = out->second.get();
  spec.stderrFd = err->second.get();
  auto pid = runtime::spawnProcess(spec);
  if (!pid) return pid.takeError();
  // Only the child keeps these ends; EOF on our read ends then means it exited.
  in->first.reset();
  out->second.reset();
  err->second.reset();
  fcntl(in->second.get(), F_SETFL, O_NONBLOCK);

  CniExecOutput result;
  SigpipeBlock noSigpipe;
  std::size_t written = 0;
  if (stdinData.empty()) in->second.reset();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool timedOut = false;
  while (out->first.valid() || err->first.valid()) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) {
      timedOut = true;
      break;
    }
    pollfd fds[3];
    int n = 0;
    auto add = [&](UniqueFd& fd, short events) {
      fds[n++] = {fd.valid() ? fd.get() : -1, events, 0};
    };
    add(in->second, POLLOUT);
    add(out->first, POLLIN);
    add(err->first, POLLIN);
    int r = poll(fds, n, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
      ssize_t w = write(in->second.get(), stdinData.data() + written, stdinData.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) in->second.reset();  // plugin closed stdin early
      if (written == stdinData.size()) in->second.reset();
    }
    auto drain = [](pollfd& p, UniqueFd& fd, std::string& into) {
      if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) return;
      char buf[8192];
      ssize_t got = read(fd.get(), buf, sizeof buf);
      if (got > 0) into.append(buf, static_cast<std::size_t>(got));
      else if (got == 0 || (errno != EINTR && errno != EAGAIN)) fd.reset();
    };
    drain(fds[1], out->first, result.out);
    drain(fds[2], err->first, result.err);
  }
  in->second.reset();
  if (timedOut) {
    kill(*pid, SIGKILL);
    (void)runtime::waitForExit(*pid, std::chrono::seconds(5));
    return Error::make(ErrorCode::kUnavailable,
                       argv[0] + " did not finish within " + std::to_string(timeout.count()) + " ms");
  }
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  auto status = runtime::waitForExit(*pid, std::max(left, std::chrono::milliseconds(100)));
  if (!status) {
    kill(*pid, SIGKILL);
    (void)runtime::waitForExit(*pid, std::chrono::seconds(5));
    return Error::make(ErrorCode::kUnavailable, argv[0] + " did not exit in time");
  }
  result.exitCode = exitCodeOf(*status);
  return result;
}

CniExec processCniExec(std::chrono::milliseconds timeoutPerPlugin) {
  return [timeoutPerPlugin](const CniExecRequest& req) {
    return runWithInput({req.pluginPath}, req.env, req.stdinData, timeoutPerPlugin);
  };
}

}  // namespace berth::network

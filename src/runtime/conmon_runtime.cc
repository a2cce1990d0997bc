#include "runtime/conmon_runtime.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/log.h"
#include "runtime/cgroups.h"
#include "runtime/runc_error.h"
#include "runtime/subprocess.h"

namespace berth::runtime {
namespace fs = std::filesystem;
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kConmonExitWait{5000};

Status validateId(const std::string& id) {
  if (id.empty() || id.size() > 128) {
    return Error::make(ErrorCode::kInvalidParameter, "container id must be 1-128 characters", id);
  }
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "container id may only contain letters, digits, '-', '_' and '.'", id);
    }
  }
  if (id == "." || id == "..") return Error::make(ErrorCode::kInvalidParameter, "invalid container id", id);
  return okStatus();
}

Status ensureDir(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return Error::make(ErrorCode::kIo, "cannot create directory " + path + ": " + ec.message(), path);
  return okStatus();
}

Status writeFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << content;
    out.flush();
    if (!out) return Error::make(ErrorCode::kIo, "cannot write " + tmp, tmp);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    return Error::make(ErrorCode::kIo, "cannot rename " + tmp + ": " + std::strerror(errno), path);
  }
  return okStatus();
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<long long> readNumber(const std::string& path) {
  auto text = readFile(path);
  if (!text) return std::nullopt;
  try {
    std::size_t used = 0;
    long long v = std::stoll(*text, &used);
    return v;
  } catch (const std::exception&) {
    return std::nullopt;  // empty or half-written
  }
}

std::optional<std::chrono::system_clock::time_point> fileMtime(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::nullopt;
  auto ns = std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec);
  return std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(ns));
}

bool exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// Reads one newline-terminated message from conmon's sync pipe.
Result<std::string> readSyncMessage(int fd, SteadyClock::time_point deadline) {
  std::string buf;
  while (buf.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    if (left <= 0) return Error::make(ErrorCode::kUnavailable, "conmon did not report the container pid in time");
    struct pollfd p {fd, POLLIN, 0};
    int n = poll(&p, 1, static_cast<int>(left));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char chunk[1024];
    ssize_t got = read(fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      if (buf.empty()) {
        return Error::make(ErrorCode::kInternal, "conmon exited without reporting the container pid");
      }
      break;
    }
    buf.append(chunk, static_cast<std::size_t>(got));
  }
  return buf.substr(0, buf.find('\n'));
}

}  // namespace

ConmonRuntime::ConmonRuntime(ConmonRuntimeOptions options) : options_(std::move(options)) {
  auto defaulted = [&](std::string& field, const char* sub) {
    if (field.empty()) field = (fs::path(options_.rootDir) / sub).string();
  };
  defaulted(options_.runcRoot, "runc");
  defaulted(options_.exitDir, "exits");
  defaulted(options_.persistDir, "persist");
  defaulted(options_.socketDir, "sockets");
}

ConmonRuntime::Paths ConmonRuntime::pathsFor(const std::string& id) const {
  Paths p;
  p.persist = (fs::path(options_.persistDir) / id).string();
  p.exitFile = (fs::path(options_.exitDir) / id).string();
  p.conmonPidFile = p.persist + "/conmon.pid";
  p.containerPidFile = p.persist + "/pidfile";
  p.startedFile = p.persist + "/started";
  p.bundleOwnedFile = p.persist + "/bundle-owned";
  p.conmonLog = p.persist + "/conmon.log";
  p.runcLog = p.persist + "/runc.log";
  p.bundleFile = p.persist + "/bundle";
  p.cgroupFile = p.persist + "/cgroup";
  return p;
}

std::vector<std::string> ConmonRuntime::runcArgs(std::vector<std::string> tail) const {
  std::vector<std::string> argv = {options_.runcPath, "--root", options_.runcRoot, "--log-format", "json"};
  argv.insert(argv.end(), tail.begin(), tail.end());
  return argv;
}

int ConmonRuntime::conmonPid(const std::string& id) const {
  auto pid = readNumber(pathsFor(id).conmonPidFile);
  return pid ? static_cast<int>(*pid) : 0;
}

void ConmonRuntime::moveToConmonCgroup(int pid) const {
  if (options_.conmonCgroup.empty()) return;
  std::string rel = options_.conmonCgroup;
  while (!rel.empty() && rel.front() == '/') rel.erase(0, 1);
  for (const auto& mountPoint : cgroupMountPoints()) {
    const auto dir = fs::path(mountPoint) / rel;
    std::error_code ec;
    fs::create_directories(dir, ec);
    std::ofstream procs(dir / "cgroup.procs");
    procs << pid << "\n";
    procs.flush();
    if (!procs) {
      log::warn("cannot move conmon into its cgroup", {{"cgroup", dir.string()}, {"pid", pid}});
    }
  }
}

Status ConmonRuntime::create(const ContainerCreate& request) {
  BERTH_TRY(validateId(request.id));
  if (request.bundleDir.empty() || request.bundleDir.front() != '/') {
    return Error::make(ErrorCode::kInvalidParameter, "bundleDir must be an absolute path", request.bundleDir);
  }
  if (request.logPath.empty() || request.logPath.front() != '/') {
    return Error::make(ErrorCode::kInvalidParameter, "logPath must be an absolute path", request.logPath);
  }
  const Paths paths = pathsFor(request.id);
  for (const auto* dir : {&options_.runcRoot, &options_.exitDir, &options_.persistDir, &options_.socketDir}) {
    BERTH_TRY(ensureDir(*dir));
  }
  // The persist dir is the claim on the id: it exists from create() until
  // remove(), so a second create with the same id is refused here.
  if (mkdir(paths.persist.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return Error::make(ErrorCode::kConflict,
                         "container " + request.id + " already exists on this host; remove it first", request.id);
    }
    return Error::make(ErrorCode::kIo, "cannot create " + paths.persist + ": " + std::strerror(errno),
                       paths.persist);
  }
  // A stale exit file from an earlier container with this id would make the
  // new one look stopped.
  unlink(paths.exitFile.c_str());

  bool bundleCreated = false;
  if (!exists(request.bundleDir)) {
    BERTH_TRY(ensureDir(request.bundleDir));
    bundleCreated = true;
  }
  BERTH_TRY(writeFile(paths.bundleFile, request.bundleDir));
  if (bundleCreated) BERTH_TRY(writeFile(paths.bundleOwnedFile, "1"));
  if (auto logDir = fs::path(request.logPath).parent_path(); !logDir.empty()) {
    BERTH_TRY(ensureDir(logDir.string()));
  }

  nlohmann::json spec = request.ociSpec;
  if (!request.cgroupParent.empty() && !(spec.contains("linux") && spec["linux"].contains("cgroupsPath"))) {
    std::string parent = request.cgroupParent;
    while (parent.size() > 1 && parent.back() == '/') parent.pop_back();
    spec["linux"]["cgroupsPath"] = parent + "/" + request.id;
  }
  BERTH_TRY(writeFile(request.bundleDir + "/config.json", spec.dump()));
  if (spec.contains("linux") && spec["linux"].contains("cgroupsPath") && spec["linux"]["cgroupsPath"].is_string())
    BERTH_TRY(writeFile(paths.cgroupFile, spec["linux"]["cgroupsPath"].get<std::string>()));

  int syncPipe[2], startPipe[2];
  if (pipe2(syncPipe, O_CLOEXEC) != 0) {
    return Error::make(ErrorCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  if (pipe2(startPipe, O_CLOEXEC) != 0) {
    close(syncPipe[0]);
    close(syncPipe[1]);
    return Error::make(ErrorCode::kInternal, std::string("pipe: ") + std::strerror(errno));
  }
  int conmonLogFd = open(paths.conmonLog.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

  std::vector<std::string> argv = {options_.conmonPath,
                                   "--api-version", "1",
                                   "-c", request.id,
                                   "-u", request.id,
                                   "-n", request.id,
                                   "-r", options_.runcPath,
                                   "-b", request.bundleDir,
                                   "-p", paths.containerPidFile,
                                   "-P", paths.conmonPidFile,
                                   "-l", "k8s-file:" + request.logPath,
                                   "--exit-dir", options_.exitDir,
                                   "--persist-dir", paths.persist,
                                   "--socket-dir-path", options_.socketDir,
                                   "--log-level", options_.conmonLogLevel,
                                   "--runtime-arg", "--root=" + options_.runcRoot,
                                   "--runtime-arg", "--log-format=json",
                                   "--runtime-arg", "--log=" + paths.runcLog};
  SpawnSpec spawn{.argv = argv,
                  .extraEnv = {"_OCI_SYNCPIPE=3", "_OCI_STARTPIPE=4"},
                  .cwd = paths.persist,  // conmon also drops a relative `oom` file in its cwd
                  .stdoutFd = conmonLogFd,
                  .stderrFd = conmonLogFd,
                  .extraFds = {{syncPipe[1], 3}, {startPipe[0], 4}}};
  auto pid = spawnProcess(spawn);
  close(syncPipe[1]);
  close(startPipe[0]);
  if (conmonLogFd >= 0) close(conmonLogFd);
  if (!pid) {
    close(syncPipe[0]);
    close(startPipe[1]);
    cleanupFailedCreate(request.id, request.bundleDir, request.logPath);
    return pid.takeError();
  }

  const auto deadline = SteadyClock::now() + options_.createTimeout;
  // conmon blocks on the start pipe until we have placed it in its cgroup.
  moveToConmonCgroup(*pid);
  const char go = '0';
  ssize_t wrote = write(startPipe[1], &go, 1);
  close(startPipe[1]);
  // The first conmon process forks the long-lived monitor and exits at once.
  auto parent = waitForExit(*pid, options_.createTimeout);
  if (!parent) {
    ::kill(*pid, SIGKILL);
    (void)waitForExit(*pid, std::chrono::seconds(5));
  }
  Result<std::string> message = Error::make(ErrorCode::kInternal, "conmon could not be started");
  if (wrote == 1 && parent.ok()) message = readSyncMessage(syncPipe[0], deadline);
  close(syncPipe[0]);

  Status outcome = okStatus();
  if (!message) {
    outcome = message.takeError();
  } else {
    auto parsed = nlohmann::json::parse(*message, nullptr, /*allow_exceptions=*/false);
    const long long data = parsed.is_object() ? parsed.value("data", -1LL) : -1LL;
    if (data <= 0) {
      std::string why = parsed.is_object() ? parsed.value("message", std::string()) : *message;
      // runc's own log says more than conmon's summary.
      auto runcError = classifyRuncError(readFile(paths.runcLog).value_or(""));
      if (!runcError.message.empty()) why = runcError.message;
      outcome = Error::make(ErrorCode::kInternal,
                            "creating container " + request.id + " failed: " +
                                (why.empty() ? "conmon reported no reason (see " + paths.conmonLog + ")" : why),
                            request.id);
    }
  }
  if (!outcome) {
    cleanupFailedCreate(request.id, request.bundleDir, request.logPath);
    return outcome;
  }
  return okStatus();
}

void ConmonRuntime::cleanupFailedCreate(const std::string& id, const std::string& bundleDir,
                                        const std::string& logPath) {
  // Order as CRI-O: stop conmon (and wait, so it cannot write files after we
  // delete them), remove the log, delete the container, then our files.
  const Paths paths = pathsFor(id);
  if (int pid = conmonPid(id); pid > 0 && processAlive(pid, paths.persist)) {
    ::kill(pid, SIGKILL);
    waitUntilGone(pid, paths.persist, kConmonExitWait);
  }
  unlink(logPath.c_str());
  auto del = runCommand(runcArgs({"delete", "--force", id}), options_.runcTimeout);
  if (del && del->exitCode != 0) {
    auto e = classifyRuncError(del->err);
    if (e.kind != RuncFailure::kNotFound) {
      log::warn("runc delete after a failed create failed", {{"id", id}, {"error", e.message}});
    }
  }
  (void)bundleDir;
  removeFiles(id);
}

void ConmonRuntime::removeFiles(const std::string& id) {
  const Paths paths = pathsFor(id);
  std::error_code ec;
  const auto bundle = readFile(paths.bundleFile);
  const bool owned = exists(paths.bundleOwnedFile);
  if (bundle && !bundle->empty()) {
    // Only what we or conmon put there; the rootfs may live in the bundle.
    for (const char* name : {"config.json", "config.json.tmp", "ctl", "winsz", "attach", "oom", "pidfile"}) {
      fs::remove(fs::path(*bundle) / name, ec);
    }
    if (owned) rmdir(bundle->c_str());
  }
  fs::remove(paths.exitFile, ec);
  fs::remove_all(fs::path(options_.socketDir) / id, ec);
  fs::remove_all(paths.persist, ec);
}

Status ConmonRuntime::start(const std::string& id) {
  BERTH_TRY(validateId(id));
  auto r = runCommand(runcArgs({"start", id}), options_.runcTimeout);
  if (!r) return r.takeError();
  if (r->exitCode != 0) return toError(classifyRuncError(r->err), "start", id);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  BERTH_TRY(writeFile(pathsFor(id).startedFile,
                      std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count())));
  return okStatus();
}

Status ConmonRuntime::kill(const std::string& id, int signal) {
  BERTH_TRY(validateId(id));
  auto r = runCommand(runcArgs({"kill", id, std::to_string(signal)}), options_.runcTimeout);
  if (!r) return r.takeError();
  if (r->exitCode == 0) return okStatus();
  auto e = classifyRuncError(r->err);
  if (e.kind == RuncFailure::kNotRunning) return okStatus();
  if (e.kind == RuncFailure::kNotFound && exists(pathsFor(id).exitFile)) return okStatus();
  return toError(e, "kill", id);
}

namespace {

// The kernel's own count of OOM kills in a container's memory cgroup. conmon
// writes its `oom` file from an event callback that can lose the race with
// the container's exit, so a SIGKILL exit (137) is checked here as well.
bool cgroupSawOomKill(const std::string& cgroupsPath) {
  if (cgroupsPath.empty()) return false;
  for (const std::string& file : {"/sys/fs/cgroup/memory" + cgroupsPath + "/memory.oom_control",
                                 "/sys/fs/cgroup" + cgroupsPath + "/memory.events"}) {
    std::ifstream in(file);
    std::string key;
    long long value = 0;
    while (in >> key >> value)
      if (key == "oom_kill" && value > 0) return true;
  }
  return false;
}

}  // namespace

Result<ContainerState> ConmonRuntime::state(const std::string& id) {
  BERTH_TRY(validateId(id));
  const Paths paths = pathsFor(id);
  ContainerState st;
  st.id = id;
  if (auto started = readNumber(paths.startedFile)) {
    st.startedAt = std::chrono::system_clock::time_point(
        std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(*started)));
  }
  // The container has exited with `code` (read from conmon's exit file). Read
  // `oom` only after the exit file: conmon may write it just before the exit
  // file, and reading it first could miss it. If conmon lost the OOM event,
  // the kernel's own count in the container's memory cgroup still has it.
  auto stoppedWith = [&](long long code) {
    st.status = ContainerStatus::kStopped;
    st.exitCode = static_cast<int>(code);
    st.finishedAt = fileMtime(paths.exitFile);
    st.oomKilled = exists(paths.persist + "/oom");
    if (!st.oomKilled && code == 137) st.oomKilled = cgroupSawOomKill(readFile(paths.cgroupFile).value_or(""));
  };

  // conmon's exit file is the authority once it exists; no runc call needed.
  if (auto code = readNumber(paths.exitFile)) {
    stoppedWith(*code);
    return st;
  }

  st.oomKilled = exists(paths.persist + "/oom");
  auto r = runCommand(runcArgs({"state", id}), options_.runcTimeout);
  if (!r) return r.takeError();
  if (r->exitCode != 0) {
    auto e = classifyRuncError(r->err);
    if (e.kind == RuncFailure::kNotFound && exists(paths.persist)) {
      // Ours, but runc has no record and conmon left no exit code (e.g. the
      // host rebooted with runc's root on tmpfs): it stopped, code unknown.
      st.status = ContainerStatus::kStopped;
      return st;
    }
    return toError(e, "state", id);
  }
  auto json = nlohmann::json::parse(r->out, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) {
    return Error::make(ErrorCode::kInternal, "runc state " + id + " printed unparseable output: " + r->out, id);
  }
  const std::string status = json.value("status", "");
  const int pid = json.value("pid", 0);
  if (status == "created") {
    st.status = ContainerStatus::kCreated;
    st.pid = pid;
  } else if (status == "running" || status == "paused") {
    st.status = ContainerStatus::kRunning;
    st.pid = pid;
  } else if (status == "stopped") {
    // Re-check the exit file: conmon may have written it since we looked.
    if (auto code = readNumber(paths.exitFile)) {
      stoppedWith(*code);
    } else if (int cpid = conmonPid(id); cpid > 0 && processAlive(cpid, paths.persist)) {
      st.status = ContainerStatus::kRunning;  // exiting: conmon has not recorded it yet
    } else {
      st.status = ContainerStatus::kStopped;  // conmon is gone: the exit code was lost
    }
  } else {
    st.status = ContainerStatus::kUnknown;
  }
  return st;
}

Status ConmonRuntime::remove(const std::string& id, bool force) {
  BERTH_TRY(validateId(id));
  const Paths paths = pathsFor(id);
  std::vector<std::string> tail = {"delete"};
  if (force) tail.push_back("--force");
  tail.push_back(id);
  auto r = runCommand(runcArgs(tail), options_.runcTimeout);
  if (!r) return r.takeError();
  if (r->exitCode != 0) {
    auto e = classifyRuncError(r->err);
    if (e.kind != RuncFailure::kNotFound) return toError(e, "delete", id);
  }
  // conmon writes the exit file right after the container dies; wait for it
  // to finish so nothing reappears after we clean up.
  if (int pid = conmonPid(id); pid > 0 && !waitUntilGone(pid, paths.persist, kConmonExitWait)) {
    ::kill(pid, SIGKILL);
    waitUntilGone(pid, paths.persist, kConmonExitWait);
  }
  removeFiles(id);
  return okStatus();
}

Result<std::vector<std::string>> ConmonRuntime::list() {
  std::set<std::string> ids;
  std::error_code ec;
  if (fs::is_directory(options_.runcRoot, ec)) {
    auto r = runCommand(runcArgs({"list", "--format", "json"}), options_.runcTimeout);
    if (!r) return r.takeError();
    if (r->exitCode != 0) return toError(classifyRuncError(r->err), "list", "");
    auto json = nlohmann::json::parse(r->out, nullptr, /*allow_exceptions=*/false);
    if (json.is_array()) {
      for (const auto& c : json) {
        if (c.is_object() && c.contains("id")) ids.insert(c["id"].get<std::string>());
      }
    } else if (!json.is_null()) {
      return Error::make(ErrorCode::kInternal, "runc list printed unparseable output: " + r->out);
    }
  }
  for (const auto* dir : {&options_.exitDir, &options_.persistDir}) {
    if (!fs::is_directory(*dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(*dir, ec)) {
      const auto name = entry.path().filename().string();
      if (name.ends_with(".tmp") || !validateId(name).ok()) continue;
      ids.insert(name);
    }
  }
  return std::vector<std::string>(ids.begin(), ids.end());
}

Result<ExecResult> ConmonRuntime::exec(const std::string& id, const ExecRequest& request) {
  BERTH_TRY(validateId(id));
  if (request.argv.empty()) return Error::make(ErrorCode::kInvalidParameter, "exec needs a command", id);
  auto st = state(id);
  if (!st) return st.takeError();
  if (st->status != ContainerStatus::kRunning)
    return Error::make(ErrorCode::kFailedPrecondition, "container " + id + " is not running", id);
  // runc writes the exec'd process's pid here: killing runc alone would leave
  // that process running inside the container.
  static std::atomic<std::uint64_t> counter{0};
  const std::string pidFile =
      pathsFor(id).persist + "/exec-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".pid";
  std::vector<std::string> tail = {"exec", "--pid-file", pidFile};
  for (const auto& e : request.env) {
    tail.push_back("--env");
    tail.push_back(e);
  }
  tail.push_back(id);
  tail.insert(tail.end(), request.argv.begin(), request.argv.end());
  auto r = runCommand(runcArgs(tail), request.timeout);
  ExecResult result;
  if (!r) {
    if (r.error().code != ErrorCode::kUnavailable) {
      unlink(pidFile.c_str());
      return r.takeError();
    }
    if (auto pid = readNumber(pidFile); pid && *pid > 0) ::kill(static_cast<pid_t>(*pid), SIGKILL);
    unlink(pidFile.c_str());
    result.timedOut = true;
    result.exitCode = 128 + SIGKILL;
    return result;
  }
  unlink(pidFile.c_str());
  result.exitCode = r->exitCode;
  result.output = (r->out + r->err).substr(0, 4096);
  return result;
}

}  // namespace berth::runtime

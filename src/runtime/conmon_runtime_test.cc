// Integration tests: real conmon + runc as root, a busybox rootfs in a temp
// dir, unique container ids, and cleanup in TearDown even when a test fails.
#include "runtime/conmon_runtime.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "runtime/capabilities.h"
#include "runtime/cgroups.h"
#include "runtime/host_info.h"
#include "runtime/oci_spec.h"
#include "runtime/subprocess.h"

namespace berth::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kRunc = "/usr/sbin/runc";
constexpr const char* kConmon = "/usr/bin/conmon";
constexpr const char* kBusybox = "/bin/busybox";
constexpr const char* kTini = "/usr/bin/tini-static";

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Lines of one stream from a k8s-file log ("<time> <stream> <F|P> <text>").
std::vector<std::string> logLines(const std::string& path, const std::string& stream) {
  std::vector<std::string> out;
  std::istringstream in(readAll(path));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string time, s, tag;
    fields >> time >> s >> tag;
    if (s != stream) continue;
    std::string text;
    std::getline(fields, text);
    if (!text.empty() && text.front() == ' ') text.erase(0, 1);
    out.push_back(text);
  }
  return out;
}

class ConmonRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (runs real containers)";
    for (const char* bin : {kRunc, kConmon, kBusybox}) {
      if (access(bin, X_OK) != 0) GTEST_SKIP() << bin << " is not installed";
    }
    char tmpl[] = "/tmp/berth-rt-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    rootfs_ = dir_ + "/rootfs";
    makeBusyboxRootfs(rootfs_);
    cgroupParent_ = "/berth-test-" + std::to_string(getpid()) + "-" + fs::path(dir_).filename().string();
    runtime_ = std::make_unique<ConmonRuntime>(options());
  }

  void TearDown() override {
    if (dir_.empty()) return;
    ConmonRuntime cleaner(options());
    for (const auto& id : ids_) {
      (void)cleaner.kill(id, SIGKILL);
      auto removed = cleaner.remove(id, /*force=*/true);
      EXPECT_TRUE(removed.ok()) << id << ": " << (removed.ok() ? "" : removed.error().message);
    }
    auto cg = removeCgroup(cgroupParent_);
    EXPECT_TRUE(cg.ok()) << (cg.ok() ? "" : cg.error().message);
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  ConmonRuntimeOptions options() const {
    ConmonRuntimeOptions o;
    o.rootDir = dir_ + "/rt";
    o.runcPath = kRunc;
    o.conmonPath = kConmon;
    return o;
  }

  static void makeBusyboxRootfs(const std::string& root) {
    for (const char* d : {"bin", "etc", "proc", "sys", "dev", "tmp", "work", "home/app"}) {
      fs::create_directories(fs::path(root) / d);
    }
    fs::copy_file(kBusybox, root + "/bin/busybox");
    auto applets = runCommand({kBusybox, "--list"}, 10s);
    ASSERT_TRUE(applets.ok());
    std::istringstream in(applets->out);
    std::string name;
    while (std::getline(in, name)) {
      if (!name.empty() && name != "busybox") fs::create_symlink("busybox", fs::path(root) / "bin" / name);
    }
    std::ofstream(root + "/etc/passwd") << "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
    std::ofstream(root + "/etc/group") << "root:x:0:\napp:x:1000:\nextra:x:2000:app\n";
  }

  std::string newId() {
    static int counter = 0;
    auto id = "berthtest-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
    ids_.push_back(id);
    return id;
  }

  ContainerSpecInput specInput(const std::string& id, std::vector<std::string> command) {
    ContainerSpecInput in;
    in.containerId = id;
    in.rootfsPath = rootfs_;
    in.command = std::move(command);
    in.passwdFile = readRootfsFile(rootfs_, "/etc/passwd");
    in.groupFile = readRootfsFile(rootfs_, "/etc/group");
    in.hostHardLimits = hostHardLimits();
    auto caps = hostCapabilities();
    if (caps.ok()) in.hostCapabilities = *caps;
    in.cgroupsPath = cgroupParent_ + "/" + id;
    in.initPath = kTini;
    return in;
  }

  std::string logPath(const std::string& id) const { return dir_ + "/logs/" + id + ".log"; }

  // create + start; returns the status of whichever step failed.
  Status run(const std::string& id, const ContainerSpecInput& in, Runtime* rt = nullptr) {
    rt = rt ? rt : runtime_.get();
    auto spec = buildOciSpec(in);
    if (!spec) return spec.takeError();
    ContainerCreate req{.id = id,
                        .bundleDir = dir_ + "/bundles/" + id,
                        .ociSpec = *spec,
                        .logPath = logPath(id),
                        .cgroupParent = cgroupParent_};
    BERTH_TRY(rt->create(req));
    return rt->start(id);
  }

  ContainerState waitStopped(const std::string& id, std::chrono::milliseconds timeout = 20s,
                             Runtime* rt = nullptr) {
    rt = rt ? rt : runtime_.get();
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      auto st = rt->state(id);
      EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
      if (!st.ok() || st->status == ContainerStatus::kStopped || std::chrono::steady_clock::now() > deadline) {
        return st.ok() ? *st : ContainerState{};
      }
      std::this_thread::sleep_for(20ms);
    }
  }

  std::string dir_, rootfs_, cgroupParent_;
  std::vector<std::string> ids_;
  std::unique_ptr<ConmonRuntime> runtime_;
};

#define ASSERT_OK(expr)                                                     \
  do {                                                                      \
    auto&& s_ = (expr);                                                     \
    ASSERT_TRUE(s_.ok()) << #expr << ": " << (s_.ok() ? "" : s_.error().message); \
  } while (0)

size_t openFdCount() {
  return static_cast<size_t>(std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator()));
}

TEST_F(ConmonRuntimeTest, ExitCodeIsReported) {
  const auto id = newId();
  const auto fdsBefore = openFdCount();
  ASSERT_OK(run(id, specInput(id, {"sh", "-c", "exit 3"})));
  EXPECT_EQ(openFdCount(), fdsBefore) << "create/start must not leak descriptors";
  auto st = waitStopped(id);
  EXPECT_EQ(st.status, ContainerStatus::kStopped);
  EXPECT_EQ(st.exitCode, 3);
  EXPECT_FALSE(st.oomKilled);
  ASSERT_TRUE(st.startedAt.has_value());
  ASSERT_TRUE(st.finishedAt.has_value());
  EXPECT_GE(*st.finishedAt + 10ms, *st.startedAt);
  auto ids = runtime_->list();
  ASSERT_TRUE(ids.ok());
  EXPECT_NE(std::find(ids->begin(), ids->end(), id), ids->end());
}

TEST_F(ConmonRuntimeTest, CreatedThenRunningThenKilledWithInit) {
  const auto id = newId();
  auto in = specInput(id, {"sleep", "1000"});
  in.initProcessEnabled = true;
  auto spec = buildOciSpec(in);
  ASSERT_TRUE(spec.ok());
  ASSERT_OK(runtime_->create({.id = id,
                              .bundleDir = dir_ + "/bundles/" + id,
                              .ociSpec = *spec,
                              .logPath = logPath(id),
                              .cgroupParent = cgroupParent_}));
  auto created = runtime_->state(id);
  ASSERT_OK(created);
  EXPECT_EQ(created->status, ContainerStatus::kCreated);
  EXPECT_GT(created->pid, 0);
  EXPECT_FALSE(created->startedAt.has_value());

  ASSERT_OK(runtime_->start(id));
  auto running = runtime_->state(id);
  ASSERT_OK(running);
  EXPECT_EQ(running->status, ContainerStatus::kRunning);
  EXPECT_TRUE(running->startedAt.has_value());
  // The container's cgroup is where the spec put it.
  EXPECT_TRUE(fs::exists("/sys/fs/cgroup/memory" + cgroupParent_ + "/" + id));

  // tini forwards SIGTERM to sleep, which dies of it: 128 + 15.
  ASSERT_OK(runtime_->kill(id, SIGTERM));
  auto st = waitStopped(id);
  EXPECT_EQ(st.status, ContainerStatus::kStopped);
  EXPECT_EQ(st.exitCode, 143);
  ASSERT_OK(runtime_->kill(id, SIGTERM));  // already exited: not an error
}

TEST_F(ConmonRuntimeTest, ExecRunsInsideWithTheContainersEnvAndTimesOut) {
  const auto id = newId();
  auto in = specInput(id, {"sleep", "1000"});
  in.environment = {{"GREETING", "hello-from-spec"}};
  in.workingDirectory = "/work";
  ASSERT_OK(run(id, in));
  // Output, exit code, and the container's own env and cwd (runc exec inherits them).
  auto r = runtime_->exec(id, {{"sh", "-c", "echo $GREETING $(pwd); echo oops >&2; exit 4"}, {}, 10s});
  ASSERT_OK(r);
  EXPECT_EQ(r->exitCode, 4);
  EXPECT_FALSE(r->timedOut);
  EXPECT_NE(r->output.find("hello-from-spec /work"), std::string::npos) << r->output;
  EXPECT_NE(r->output.find("oops"), std::string::npos) << r->output;
  // Extra env and output capped at 4 KiB.
  auto big = runtime_->exec(id, {{"sh", "-c", "echo $EXTRA; yes | head -c 10000"}, {"EXTRA=x-extra"}, 10s});
  ASSERT_OK(big);
  EXPECT_EQ(big->exitCode, 0);
  EXPECT_EQ(big->output.size(), 4096u);
  EXPECT_EQ(big->output.rfind("x-extra\n", 0), 0u);
  // A probe that hangs is killed at the timeout, inside the container too.
  const auto begin = std::chrono::steady_clock::now();
  auto slow = runtime_->exec(id, {{"sh", "-c", "sleep 77"}, {}, 500ms});
  ASSERT_OK(slow);
  EXPECT_TRUE(slow->timedOut);
  EXPECT_EQ(slow->exitCode, 137);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 5s);
  std::this_thread::sleep_for(200ms);
  auto ps = runtime_->exec(id, {{"ps"}, {}, 10s});
  ASSERT_OK(ps);
  EXPECT_EQ(ps->output.find("sleep 77"), std::string::npos) << ps->output;
  // Stopped container: kFailedPrecondition; unknown: kNotFound.
  ASSERT_OK(runtime_->kill(id, SIGKILL));
  waitStopped(id);
  auto stopped = runtime_->exec(id, {{"true"}, {}, 5s});
  ASSERT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.error().code, ErrorCode::kFailedPrecondition);
  auto unknown = runtime_->exec("berthtest-no-such-container", {{"true"}, {}, 5s});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
}

TEST_F(ConmonRuntimeTest, PidOneIgnoresSigtermWithoutInitButNotSigkill) {
  const auto id = newId();
  ASSERT_OK(run(id, specInput(id, {"sleep", "1000"})));
  ASSERT_OK(runtime_->kill(id, SIGTERM));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(runtime_->state(id)->status, ContainerStatus::kRunning)
      << "pid 1 without a handler ignores SIGTERM (as under Docker without --init)";
  ASSERT_OK(runtime_->kill(id, SIGKILL));
  auto st = waitStopped(id);
  EXPECT_EQ(st.exitCode, 137);
  EXPECT_FALSE(st.oomKilled);
}

TEST_F(ConmonRuntimeTest, MemoryLimitOomKill) {
  const auto id = newId();
  // tail keeps the whole "last line" of /dev/zero (no newline ever) in memory.
  auto in = specInput(id, {"tail", "/dev/zero"});
  in.memoryMiB = 16;
  in.maxSwapMiB = 0;
  ASSERT_OK(run(id, in));
  auto st = waitStopped(id, 30s);
  EXPECT_EQ(st.status, ContainerStatus::kStopped);
  EXPECT_EQ(st.exitCode, 137);
  EXPECT_TRUE(st.oomKilled);
}

TEST_F(ConmonRuntimeTest, LogsHoldStdoutAndStderr) {
  const auto id = newId();
  ASSERT_OK(run(id, specInput(id, {"sh", "-c", "echo out-line; echo err-line >&2; echo second-out"})));
  EXPECT_EQ(waitStopped(id).exitCode, 0);
  EXPECT_EQ(logLines(logPath(id), "stdout"), (std::vector<std::string>{"out-line", "second-out"}));
  EXPECT_EQ(logLines(logPath(id), "stderr"), (std::vector<std::string>{"err-line"}));
}

TEST_F(ConmonRuntimeTest, ContainerOutlivesTheProcessThatCreatedIt) {
  const auto id = newId();
  auto in = specInput(id, {"sleep", "1000"});
  in.initProcessEnabled = true;
  // Create and start from a child process that then exits, like an agent crash.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ConmonRuntime creator(options());
    _exit(run(id, in, &creator).ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "create+start in the child failed";

  ConmonRuntime restarted(options());  // a fresh instance over the same directories
  auto st = restarted.state(id);
  ASSERT_OK(st);
  EXPECT_EQ(st->status, ContainerStatus::kRunning);
  EXPECT_TRUE(st->startedAt.has_value());
  EXPECT_TRUE(processAlive(restarted.conmonPid(id), id));
  auto ids = restarted.list();
  ASSERT_OK(ids);
  EXPECT_NE(std::find(ids->begin(), ids->end(), id), ids->end());

  ASSERT_OK(restarted.kill(id, SIGTERM));
  auto stopped = waitStopped(id, 20s, &restarted);
  EXPECT_EQ(stopped.exitCode, 143);
  // And yet another instance still sees the exit code (it is on disk).
  ConmonRuntime again(options());
  EXPECT_EQ(again.state(id)->exitCode, 143);
}

TEST_F(ConmonRuntimeTest, ProcessSettingsAreVisibleInside) {
  const auto id = newId();
  auto in = specInput(id, {"sh", "-c",
                           "id -u; pwd; echo $FOO; hostname; touch /x 2>/dev/null || echo ro; "
                           "grep CapEff /proc/self/status; ulimit -n; ulimit -Hn; "
                           "grep NoNewPrivs /proc/self/status; grep 'Seccomp:' /proc/self/status; "
                           "cat /sys/fs/cgroup/memory/memory.limit_in_bytes"});
  in.workingDirectory = "/work";
  in.environment = {{"FOO", "bar-baz"}};
  in.hostname = "berth-host";
  in.readonlyRootFilesystem = true;
  in.ulimits = {{"nofile", 512, 1 << 30}};  // hard far above the host's: clamped
  in.capAdd = {"SYS_TIME"};
  in.capDrop = {"NET_RAW"};
  in.memoryMiB = 64;
  ASSERT_OK(run(id, in));
  ASSERT_EQ(waitStopped(id).exitCode, 0) << readAll(logPath(id));

  unsigned long long want = 0;
  auto caps = containerCapabilities(in.capAdd, in.capDrop, in.hostCapabilities);
  ASSERT_OK(caps);
  const auto& all = allCapabilities();
  for (const auto& c : *caps) want |= 1ULL << (std::find(all.begin(), all.end(), c) - all.begin());
  char capHex[32];
  snprintf(capHex, sizeof capHex, "%016llx", want);

  const auto hostHard = hostHardLimits();
  const std::string nofileHard =
      hostHard.count("RLIMIT_NOFILE") ? std::to_string(hostHard.at("RLIMIT_NOFILE")) : "1073741824";
  const std::vector<std::string> expected = {"0",
                                             "/work",
                                             "bar-baz",
                                             "berth-host",
                                             "ro",
                                             std::string("CapEff:\t") + capHex,
                                             "512",
                                             nofileHard,
                                             "NoNewPrivs:\t1",
                                             "Seccomp:\t2",
                                             std::to_string(64 << 20)};
  EXPECT_EQ(logLines(logPath(id), "stdout"), expected) << readAll(logPath(id));
}

TEST_F(ConmonRuntimeTest, ConmonCanBeMovedOutOfTheAgentCgroup) {
  auto opts = options();
  opts.conmonCgroup = cgroupParent_ + "/conmon";
  ConmonRuntime rt(opts);
  const auto id = newId();
  ASSERT_OK(run(id, specInput(id, {"sleep", "1000"}), &rt));
  const std::string cgroups = readAll("/proc/" + std::to_string(rt.conmonPid(id)) + "/cgroup");
  EXPECT_NE(cgroups.find(":memory:" + cgroupParent_ + "/conmon\n"), std::string::npos) << cgroups;
  const int conmon = rt.conmonPid(id);
  ASSERT_GT(conmon, 0);
  ASSERT_OK(rt.remove(id, true));
  EXPECT_FALSE(processAlive(conmon, id)) << "remove waits for conmon to exit";
}

TEST_F(ConmonRuntimeTest, UserAndGroupsFromTheImageFiles) {
  const auto id = newId();
  auto in = specInput(id, {"sh", "-c", "id -u; id -g; id -G; echo $HOME"});
  in.user = "app";
  ASSERT_OK(run(id, in));
  ASSERT_EQ(waitStopped(id).exitCode, 0) << readAll(logPath(id));
  EXPECT_EQ(logLines(logPath(id), "stdout"), (std::vector<std::string>{"1000", "1000", "1000 2000", "/home/app"}));
}

TEST_F(ConmonRuntimeTest, SeccompBlocksMountEvenForRoot) {
  const auto id = newId();
  // Without CAP_SYS_ADMIN the profile does not allow mount(2) (EPERM).
  ASSERT_OK(run(id, specInput(id, {"sh", "-c", "mount -t tmpfs none /tmp 2>/dev/null && echo mounted || echo denied"})));
  EXPECT_EQ(waitStopped(id).exitCode, 0);
  EXPECT_EQ(logLines(logPath(id), "stdout"), (std::vector<std::string>{"denied"}));
}

TEST_F(ConmonRuntimeTest, FailedCreateCleansUp) {
  const auto id = newId();
  auto in = specInput(id, {"/bin/does-not-exist"});
  auto spec = buildOciSpec(in);
  ASSERT_TRUE(spec.ok());
  auto created = runtime_->create(
      {.id = id, .bundleDir = dir_ + "/bundles/" + id, .ociSpec = *spec, .logPath = logPath(id), .cgroupParent = cgroupParent_});
  ASSERT_FALSE(created.ok());
  EXPECT_NE(created.error().message.find("does-not-exist"), std::string::npos) << created.error().message;
  EXPECT_FALSE(fs::exists(dir_ + "/rt/persist/" + id));
  EXPECT_FALSE(fs::exists(logPath(id)));
  EXPECT_FALSE(fs::exists(dir_ + "/bundles/" + id)) << "the bundle dir we created is removed";
  auto ids = runtime_->list();
  ASSERT_OK(ids);
  EXPECT_EQ(std::find(ids->begin(), ids->end(), id), ids->end());
  // The id is free again.
  auto retry = specInput(id, {"true"});
  ASSERT_OK(run(id, retry));
  EXPECT_EQ(waitStopped(id).exitCode, 0);
}

TEST_F(ConmonRuntimeTest, ErrorsForUnknownAndDuplicateContainers) {
  EXPECT_EQ(runtime_->state("no-such-container").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(runtime_->kill("no-such-container", SIGTERM).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(runtime_->start("no-such-container").error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(runtime_->remove("no-such-container", false).ok());
  EXPECT_EQ(runtime_->state("../etc").error().code, ErrorCode::kInvalidParameter);

  const auto id = newId();
  ASSERT_OK(run(id, specInput(id, {"sleep", "1000"})));
  auto spec = buildOciSpec(specInput(id, {"true"}));
  EXPECT_EQ(runtime_->create({.id = id, .bundleDir = dir_ + "/b2", .ociSpec = *spec, .logPath = logPath(id), .cgroupParent = ""})
                .error()
                .code,
            ErrorCode::kConflict);
  // A running container is only removed with force.
  EXPECT_EQ(runtime_->remove(id, false).error().code, ErrorCode::kConflict);
  ASSERT_OK(runtime_->remove(id, true));
  EXPECT_EQ(runtime_->state(id).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_ + "/rt/exits/" + id));
  EXPECT_FALSE(fs::exists(dir_ + "/bundles/" + id));
}

// Latency of create+start (to RUNNING) against `runc run -d` of the same
// bundle: the figure the RunTask-to-RUNNING benchmark is built on. Opt-in
// (BERTH_RUNTIME_BENCH=1) because it runs 40 containers.
TEST_F(ConmonRuntimeTest, LatencyVersusRuncRun) {
  if (getenv("BERTH_RUNTIME_BENCH") == nullptr) GTEST_SKIP() << "set BERTH_RUNTIME_BENCH=1";
  constexpr int kRuns = 20;
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  };
  std::vector<double> ours, floor, createMs, startMs;
  for (int i = 0; i < kRuns; ++i) {
    const auto id = newId();
    auto spec = buildOciSpec(specInput(id, {"sleep", "1000"}));
    ASSERT_TRUE(spec.ok());
    ContainerCreate req{.id = id,
                        .bundleDir = dir_ + "/bundles/" + id,
                        .ociSpec = *spec,
                        .logPath = logPath(id),
                        .cgroupParent = cgroupParent_};
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_OK(runtime_->create(req));
    const auto t1 = std::chrono::steady_clock::now();
    ASSERT_OK(runtime_->start(id));
    const auto t2 = std::chrono::steady_clock::now();
    ours.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
    createMs.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    startMs.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    ASSERT_EQ(runtime_->state(id)->status, ContainerStatus::kRunning);
    ASSERT_OK(runtime_->remove(id, true));
  }
  const std::string runcRoot = dir_ + "/runc-bench";
  for (int i = 0; i < kRuns; ++i) {
    const auto id = newId() + "-runc";
    const auto bundle = dir_ + "/bundles/" + id;
    fs::create_directories(bundle);
    auto spec = buildOciSpec(specInput(id, {"sleep", "1000"}));
    ASSERT_TRUE(spec.ok());
    std::ofstream(bundle + "/config.json") << spec->dump();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = runCommand({kRunc, "--root", runcRoot, "run", "-d", "--bundle", bundle, id}, 30s);
    floor.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(r.ok() && r->exitCode == 0) << (r.ok() ? r->err : r.error().message);
    auto del = runCommand({kRunc, "--root", runcRoot, "delete", "--force", id}, 30s);
    ASSERT_TRUE(del.ok() && del->exitCode == 0);
  }
  std::printf(
      "create+start to running, median of %d: conmon+runc %.1f ms (create %.1f, start %.1f), runc run -d %.1f ms\n",
      kRuns, median(ours), median(createMs), median(startMs), median(floor));
  RecordProperty("conmon_median_ms", std::to_string(median(ours)));
  RecordProperty("runc_run_median_ms", std::to_string(median(floor)));
}

}  // namespace
}  // namespace berth::runtime

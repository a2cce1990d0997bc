#pragma once
// Runtime implementation: each container runs under its own conmon, which
// runs `runc create`, holds the container's stdio (writing it to the log file
// in the k8s-file format), reaps the container and writes its exit code to
// <exitDir>/<id> and an `oom` marker to <persistDir>/<id>/ when the kernel
// OOM-killed it. conmon daemonizes, so containers outlive the agent; a new
// ConmonRuntime over the same directories sees them again (runc state + those
// files are the whole record). Modelled on CRI-O's internal/oci/runtime_oci.go.
//
// Directory layout under options.rootDir (defaults; each can be overridden):
//   runc/            runc --root (container state owned by runc)
//   exits/<id>       exit code written by conmon
//   persist/<id>/    conmon persist dir: oom, exit; ours: conmon.pid,
//                    pidfile, started, bundle-owned, conmon.log, runc.log
//   sockets/         conmon attach sockets
#include <chrono>
#include <string>
#include <vector>

#include "runtime/runtime.h"

namespace berth::runtime {

struct ConmonRuntimeOptions {
  std::string rootDir;  // required, e.g. <agent data dir>/runtime
  std::string runcPath = "/usr/sbin/runc";
  std::string conmonPath = "/usr/bin/conmon";
  std::string runcRoot;    // default <rootDir>/runc
  std::string exitDir;     // default <rootDir>/exits
  std::string persistDir;  // default <rootDir>/persist
  std::string socketDir;   // default <rootDir>/sockets
  // Every runc invocation is bounded; create covers conmon + `runc create`.
  std::chrono::milliseconds runcTimeout{std::chrono::seconds(30)};
  std::chrono::milliseconds createTimeout{std::chrono::seconds(60)};
  std::string conmonLogLevel = "info";
  // When set (e.g. "/berth/conmon"), conmon is moved into this cgroup in
  // every mounted hierarchy before it starts the container, so it is not in
  // the agent's cgroup (a service manager stopping the agent then leaves it).
  std::string conmonCgroup;
};

class ConmonRuntime final : public Runtime {
 public:
  explicit ConmonRuntime(ConmonRuntimeOptions options);

  // If the spec has no linux.cgroupsPath and request.cgroupParent is set, the
  // container's cgroup is <cgroupParent>/<id>.
  Status create(const ContainerCreate& request) override;
  Status start(const std::string& id) override;
  Status kill(const std::string& id, int signal) override;
  // kStopped comes with exitCode unless the exit could not be observed
  // (conmon was killed, or the host rebooted). Between the process dying and
  // conmon recording it, the container still reads as kRunning.
  Result<ContainerState> state(const std::string& id) override;
  Status remove(const std::string& id, bool force) override;
  Result<std::vector<std::string>> list() override;
  // `runc exec`: the process inherits the container's user, cwd, env (plus
  // request.env), capabilities and namespaces from its config. On timeout
  // both runc and the process it started in the container are SIGKILLed.
  Result<ExecResult> exec(const std::string& id, const ExecRequest& request) override;

  const ConmonRuntimeOptions& options() const { return options_; }
  // conmon's pid for a container (0 if unknown); for tests and diagnostics.
  int conmonPid(const std::string& id) const;

 private:
  struct Paths {
    std::string persist, exitFile, conmonPidFile, containerPidFile, startedFile, bundleOwnedFile, conmonLog,
        runcLog, bundleFile, cgroupFile;
  };
  Paths pathsFor(const std::string& id) const;
  std::vector<std::string> runcArgs(std::vector<std::string> tail) const;
  // Kills conmon and the container, removes everything create() made.
  void cleanupFailedCreate(const std::string& id, const std::string& bundleDir, const std::string& logPath);
  void removeFiles(const std::string& id);
  void moveToConmonCgroup(int pid) const;

  ConmonRuntimeOptions options_;
};

}  // namespace berth::runtime

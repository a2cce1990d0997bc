#include "runtime/oci_spec.h"

#include <algorithm>
#include <cctype>
#include <limits>

#include "runtime/capabilities.h"
#include "runtime/default_seccomp.h"
#include "runtime/exec_user.h"

namespace berth::runtime {
namespace {

using nlohmann::json;

constexpr std::int64_t kMiB = 1024 * 1024;
constexpr std::int64_t kDefaultShmMiB = 64;

// ECS ulimit names (the 15 Linux rlimits ECS accepts).
constexpr std::string_view kUlimitNames[] = {"core",   "cpu",      "data", "fsize",   "locks",
                                             "memlock", "msgqueue", "nice", "nofile",  "nproc",
                                             "rss",    "rtprio",   "rttime", "sigpending", "stack"};

std::string rlimitType(std::string_view ecsName) {
  std::string out = "RLIMIT_";
  for (char c : ecsName) out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return out;
}

json mount(std::string destination, std::string type, std::string source, std::vector<std::string> options) {
  return {{"destination", std::move(destination)},
          {"type", std::move(type)},
          {"source", std::move(source)},
          {"options", std::move(options)}};
}

Result<json> rlimits(const ContainerSpecInput& in) {
  // Container ulimits override the agent defaults name by name.
  std::map<std::string, Ulimit> byName;
  for (const auto& u : in.defaultUlimits) byName[u.name] = u;
  for (const auto& u : in.ulimits) {
    if (std::find(std::begin(kUlimitNames), std::end(kUlimitNames), u.name) == std::end(kUlimitNames)) {
      return Error::make(ErrorCode::kInvalidParameter, "unknown ulimit name '" + u.name + "'", "ulimits");
    }
    if (u.softLimit < 0 || u.hardLimit < 0 || u.softLimit > u.hardLimit) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "ulimit " + u.name + ": softLimit must be between 0 and hardLimit", "ulimits");
    }
    byName[u.name] = u;
  }
  json out = json::array();
  for (const auto& [name, u] : byName) {
    const std::string type = rlimitType(name);
    auto hard = static_cast<std::uint64_t>(u.hardLimit);
    auto soft = static_cast<std::uint64_t>(u.softLimit);
    if (auto it = in.hostHardLimits.find(type); it != in.hostHardLimits.end()) {
      hard = std::min(hard, it->second);
      soft = std::min(soft, hard);
    }
    out.push_back({{"type", type}, {"hard", hard}, {"soft", soft}});
  }
  return out;
}

json defaultMounts(const ContainerSpecInput& in) {
  const std::int64_t shmMiB = in.sharedMemorySizeMiB > 0 ? in.sharedMemorySizeMiB : kDefaultShmMiB;
  const bool ro = !in.privileged;
  json mounts = json::array();
  mounts.push_back(mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}));
  mounts.push_back(mount("/dev/pts", "devpts", "devpts",
                         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}));
  mounts.push_back(mount("/sys", "sysfs", "sysfs",
                         ro ? std::vector<std::string>{"nosuid", "noexec", "nodev", "ro"}
                            : std::vector<std::string>{"nosuid", "noexec", "nodev", "rw"}));
  mounts.push_back(mount("/sys/fs/cgroup", "cgroup", "cgroup",
                         {"nosuid", "noexec", "nodev", "relatime", ro ? "ro" : "rw"}));
  mounts.push_back(mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}));
  mounts.push_back(mount("/dev/shm", "tmpfs", "shm",
                         {"nosuid", "noexec", "nodev", "mode=1777", "size=" + std::to_string(shmMiB * kMiB)}));
  return mounts;
}

Result<json> userMounts(const ContainerSpecInput& in) {
  json mounts = json::array();
  for (const auto& t : in.tmpfs) {
    if (t.containerPath.empty() || t.containerPath.front() != '/') {
      return Error::make(ErrorCode::kInvalidParameter, "tmpfs containerPath must be absolute", "linuxParameters.tmpfs");
    }
    std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
    // Task-definition options come last so they win (e.g. "exec").
    for (const auto& o : t.mountOptions) options.push_back(o);
    if (t.sizeMiB > 0) options.push_back("size=" + std::to_string(t.sizeMiB * kMiB));
    mounts.push_back(mount(t.containerPath, "tmpfs", "tmpfs", std::move(options)));
  }
  for (const auto& b : in.bindMounts) {
    if (b.destination.empty() || b.destination.front() != '/' || b.source.empty() || b.source.front() != '/') {
      return Error::make(ErrorCode::kInvalidParameter, "bind mount source and destination must be absolute",
                         b.destination);
    }
    mounts.push_back(mount(b.destination, "bind", b.source, {"rbind", "rprivate", b.readOnly ? "ro" : "rw"}));
  }
  if (in.initProcessEnabled) {
    mounts.push_back(mount("/dev/init", "bind", in.initPath, {"bind", "ro", "nosuid", "nodev"}));
  }
  return mounts;
}

json deviceRules(const ContainerSpecInput& in) {
  if (in.privileged) return json::array({{{"allow", true}, {"access", "rwm"}}});
  auto rule = [](const char* type, std::optional<std::int64_t> major, std::optional<std::int64_t> minor,
                 const std::string& access) {
    json r = {{"allow", true}, {"type", type}, {"access", access}};
    if (major) r["major"] = *major;
    if (minor) r["minor"] = *minor;
    return r;
  };
  // Docker's default allow list: mknod of anything, then the harmless nodes.
  json rules = json::array({{{"allow", false}, {"access", "rwm"}}});
  rules.push_back(rule("c", std::nullopt, std::nullopt, "m"));
  rules.push_back(rule("b", std::nullopt, std::nullopt, "m"));
  for (auto [major, minor] : std::vector<std::pair<int, int>>{{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0},
                                                              {5, 1}, {5, 2}, {10, 200}}) {
    rules.push_back(rule("c", major, minor, "rwm"));
  }
  rules.push_back(rule("c", 136, std::nullopt, "rwm"));  // /dev/pts/*
  for (const auto& d : in.devices) {
    rules.push_back(rule(d.type == 'b' ? "b" : "c", d.major, d.minor, d.permissions));
  }
  return rules;
}

json maskedPaths() {
  return {"/proc/asound",       "/proc/acpi",        "/proc/kcore",       "/proc/keys",
          "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
          "/proc/scsi",         "/sys/firmware",     "/sys/devices/virtual/powercap"};
}

json readonlyPaths() { return {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}; }

}  // namespace

Result<std::vector<std::string>> resolveArgs(const std::optional<std::vector<std::string>>& entryPoint,
                                             const std::optional<std::vector<std::string>>& command,
                                             const ImageConfig& image) {
  std::vector<std::string> ep = entryPoint.value_or(std::vector<std::string>{});
  std::vector<std::string> cmd = command.value_or(std::vector<std::string>{});
  if (ep.empty()) {
    if (cmd.empty()) cmd = image.cmd;
    if (!entryPoint) ep = image.entrypoint;
  }
  std::vector<std::string> args = std::move(ep);
  args.insert(args.end(), cmd.begin(), cmd.end());
  if (args.empty()) {
    return Error::make(ErrorCode::kInvalidParameter,
                       "no command specified: neither the container definition (entryPoint/command) nor the image "
                       "(Entrypoint/Cmd) gives one",
                       "command");
  }
  return args;
}

std::vector<std::string> resolveEnv(const ImageConfig& image,
                                    const std::vector<std::pair<std::string, std::string>>& environment,
                                    const std::string& hostname) {
  std::vector<std::string> out;
  auto set = [&](const std::string& entry) {
    const auto name = entry.substr(0, entry.find('='));
    for (auto& existing : out) {
      if (existing.substr(0, existing.find('=')) == name) {
        existing = entry;
        return;
      }
    }
    out.push_back(entry);
  };
  set("PATH=" + std::string(kDefaultPath));
  if (!hostname.empty()) set("HOSTNAME=" + hostname);
  for (const auto& e : image.env) set(e);
  for (const auto& [name, value] : environment) set(name + "=" + value);
  return out;
}

std::uint64_t cpuSharesFromUnits(std::int64_t units) {
  return static_cast<std::uint64_t>(std::clamp<std::int64_t>(units, 2, 262144));
}

Result<json> buildOciSpec(const ContainerSpecInput& in) {
  if (in.rootfsPath.empty() || in.rootfsPath.front() != '/') {
    return Error::make(ErrorCode::kInvalidParameter, "rootfsPath must be an absolute path", in.rootfsPath);
  }
  auto args = resolveArgs(in.entryPoint, in.command, in.image);
  if (!args) return args.takeError();
  if (in.initProcessEnabled) {
    args->insert(args->begin(), {"/dev/init", "--"});
  }

  const std::string hostname = !in.hostname.empty() ? in.hostname : in.containerId.substr(0, 12);
  auto user = resolveExecUser(in.user.empty() ? in.image.user : in.user, in.passwdFile, in.groupFile);
  if (!user) return user.takeError();

  std::string cwd = !in.workingDirectory.empty() ? in.workingDirectory
                    : !in.image.workingDir.empty() ? in.image.workingDir
                                                   : "/";
  if (cwd.front() != '/') {
    return Error::make(ErrorCode::kInvalidParameter, "workingDirectory must be an absolute path", cwd);
  }

  std::vector<std::string> caps;
  if (in.privileged) {
    auto all = containerCapabilities({"ALL"}, {}, in.hostCapabilities);
    if (!all) return all.takeError();
    caps = std::move(*all);
  } else {
    auto c = containerCapabilities(in.capAdd, in.capDrop, in.hostCapabilities);
    if (!c) return c.takeError();
    caps = std::move(*c);
  }

  auto limits = rlimits(in);
  if (!limits) return limits.takeError();

  json process = {
      {"terminal", false},
      {"user",
       {{"uid", user->uid}, {"gid", user->gid}, {"additionalGids", user->additionalGids}}},
      {"args", *args},
      {"env", resolveEnv(in.image, in.environment, hostname)},
      {"cwd", cwd},
      {"capabilities",
       {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"inheritable", json::array()},
        {"ambient", json::array()}}},
      {"rlimits", *limits},
      {"noNewPrivileges", !in.privileged},
  };

  json mounts = defaultMounts(in);
  auto extra = userMounts(in);
  if (!extra) return extra.takeError();
  for (auto& m : *extra) mounts.push_back(std::move(m));

  json namespaces = json::array({{{"type", "pid"}}, {{"type", "ipc"}}, {{"type", "mount"}}});
  if (!in.hostNetwork) {
    namespaces.push_back({{"type", "uts"}});
    json net = {{"type", "network"}};
    if (!in.networkNamespacePath.empty()) net["path"] = in.networkNamespacePath;
    namespaces.push_back(std::move(net));
  }

  json resources = {{"devices", deviceRules(in)}, {"cpu", {{"shares", cpuSharesFromUnits(in.cpuUnits)}}}};
  json memory = json::object();
  if (in.memoryMiB > 0) {
    memory["limit"] = in.memoryMiB * kMiB;
    if (in.maxSwapMiB) memory["swap"] = (in.memoryMiB + std::max<std::int64_t>(*in.maxSwapMiB, 0)) * kMiB;
  }
  if (in.memoryReservationMiB > 0) memory["reservation"] = in.memoryReservationMiB * kMiB;
  if (in.swappiness) memory["swappiness"] = *in.swappiness;
  if (!memory.empty()) resources["memory"] = std::move(memory);
  if (in.pidsLimit) resources["pids"] = {{"limit", *in.pidsLimit}};

  json linux = {{"namespaces", std::move(namespaces)}, {"resources", std::move(resources)}};
  if (!in.cgroupsPath.empty()) linux["cgroupsPath"] = in.cgroupsPath;
  if (!in.devices.empty()) {
    json devices = json::array();
    for (const auto& d : in.devices) {
      devices.push_back({{"path", d.path},
                         {"type", std::string(1, d.type == 'b' ? 'b' : 'c')},
                         {"major", d.major},
                         {"minor", d.minor},
                         {"fileMode", d.fileMode},
                         {"uid", 0},
                         {"gid", 0}});
    }
    linux["devices"] = std::move(devices);
  }
  if (!in.privileged) {
    linux["maskedPaths"] = maskedPaths();
    linux["readonlyPaths"] = readonlyPaths();
    linux["seccomp"] = defaultSeccompProfile(caps, in.arch.empty() ? hostArchitecture() : in.arch);
  }

  json annotations = json::object();
  for (const auto& [k, v] : in.annotations) annotations[k] = v;
  if (!in.imageName.empty()) annotations[std::string(kImageAnnotation)] = in.imageName;

  json spec = {
      {"ociVersion", "1.0.2"},
      {"process", std::move(process)},
      {"root", {{"path", in.rootfsPath}, {"readonly", in.readonlyRootFilesystem}}},
      {"mounts", std::move(mounts)},
      {"linux", std::move(linux)},
  };
  if (!in.hostNetwork) spec["hostname"] = hostname;
  if (!annotations.empty()) spec["annotations"] = std::move(annotations);
  return spec;
}

}  // namespace berth::runtime

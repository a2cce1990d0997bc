#include "agent/node_backends.h"

#include "images/overlay.h"
#include "runtime/host_info.h"
#include "runtime/oci_spec.h"

namespace berth::agent {
namespace {

std::vector<std::string> stringsOf(const nlohmann::json& j) {
  std::vector<std::string> out;
  if (j.is_array())
    for (const auto& v : j)
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

runtime::ImageConfig imageConfigOf(const images::Image& image) {
  runtime::ImageConfig c;
  const auto& cfg = image.config;
  if (!cfg.is_object()) return c;
  c.entrypoint = stringsOf(cfg.value("Entrypoint", nlohmann::json()));
  c.cmd = stringsOf(cfg.value("Cmd", nlohmann::json()));
  c.env = stringsOf(cfg.value("Env", nlohmann::json()));
  c.workingDir = cfg.value("WorkingDir", "");
  c.user = cfg.value("User", "");
  return c;
}

}  // namespace

Result<std::string> OverlayRootfs::prepare(const images::Image& image, const std::string& containerDir) {
  auto mounted = images::mountOverlay(image, containerDir);
  if (!mounted.ok()) return mounted.takeError();
  return mounted->merged;
}

Status OverlayRootfs::release(const std::string& containerDir) { return images::removeRootfs(containerDir); }

SpecBuilder makeOciSpecBuilder() {
  auto hardLimits = runtime::hostHardLimits();
  std::optional<std::vector<std::string>> caps;
  if (auto c = runtime::hostCapabilities(); c.ok()) caps = *c;
  return [hardLimits, caps](const SpecInput& in) -> Result<nlohmann::json> {
    const auto& def = in.container.definition;
    runtime::ContainerSpecInput s;
    s.containerId = in.runtimeId;
    s.rootfsPath = in.rootfs;
    s.imageName = in.container.image;
    s.image = imageConfigOf(in.image);
    s.entryPoint = in.container.entryPoint;
    s.command = in.container.command;
    s.environment = in.container.environment;
    s.workingDirectory = def.value("workingDirectory", "");
    s.user = def.value("user", "");
    s.passwdFile = runtime::readRootfsFile(in.rootfs, "etc/passwd");
    s.groupFile = runtime::readRootfsFile(in.rootfs, "etc/group");
    s.hostname = def.value("hostname", "");
    s.readonlyRootFilesystem = def.value("readonlyRootFilesystem", false);
    for (const auto& u : def.value("ulimits", nlohmann::json::array()))
      s.ulimits.push_back({u.value("name", ""), u.value("softLimit", std::int64_t{0}), u.value("hardLimit", std::int64_t{0})});
    s.hostHardLimits = hardLimits;
    s.hostCapabilities = caps;
    s.privileged = def.value("privileged", false);
    const auto lp = def.value("linuxParameters", nlohmann::json::object());
    const auto capsJson = lp.value("capabilities", nlohmann::json::object());
    s.capAdd = stringsOf(capsJson.value("add", nlohmann::json()));
    s.capDrop = stringsOf(capsJson.value("drop", nlohmann::json()));
    s.initProcessEnabled = lp.value("initProcessEnabled", false);
    s.sharedMemorySizeMiB = lp.value("sharedMemorySize", std::int64_t{0});
    for (const auto& t : lp.value("tmpfs", nlohmann::json::array()))
      s.tmpfs.push_back({t.value("containerPath", ""), t.value("size", std::int64_t{0}),
                         stringsOf(t.value("mountOptions", nlohmann::json()))});
    if (lp.contains("maxSwap") && lp["maxSwap"].is_number_integer()) s.maxSwapMiB = lp["maxSwap"].get<std::int64_t>();
    if (lp.contains("swappiness") && lp["swappiness"].is_number_integer()) s.swappiness = lp["swappiness"].get<std::int64_t>();
    // host shares the host's namespace; the other modes join the task's
    // namespace made by TaskNetworking (all containers of a task share it,
    // so they reach each other on localhost), or without task networking a
    // private namespace with loopback only.
    s.hostNetwork = in.task.networkMode == "host";
    if (!s.hostNetwork) s.networkNamespacePath = in.netnsPath;
    // Volumes and the task's /etc/hosts and /etc/resolv.conf.
    s.bindMounts = in.mounts;
    // Secrets and metadata endpoint variables come after (and override) the definition's.
    s.environment.insert(s.environment.end(), in.extraEnv.begin(), in.extraEnv.end());
    s.cpuUnits = in.container.cpu;
    s.memoryMiB = in.container.memoryMiB;
    s.memoryReservationMiB = in.container.memoryReservationMiB;
    s.cgroupsPath = in.cgroupsPath;
    return runtime::buildOciSpec(s);
  };
}

}  // namespace berth::agent

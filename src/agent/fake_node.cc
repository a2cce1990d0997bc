#include "agent/fake_node.h"

#include <filesystem>

namespace berth::agent {

Result<images::Image> FakeImageStore::pull(const images::PullRequest& request) {
  if (!failing_.empty() && request.image.find(failing_) != std::string::npos)
    return Error::make(ErrorCode::kNotFound, "pull access denied for " + request.image + ", repository does not exist");
  images::Image image;
  image.reference = request.image;
  image.manifestDigest = "sha256:" + std::string(64, '0');
  image.config = nlohmann::json::object();
  return image;
}

Result<std::string> DirectoryRootfs::prepare(const images::Image&, const std::string& containerDir) {
  std::error_code ec;
  auto rootfs = std::filesystem::path(containerDir) / "rootfs";
  std::filesystem::create_directories(rootfs, ec);
  if (ec) return Error::make(ErrorCode::kIo, "cannot create rootfs dir: " + ec.message(), rootfs.string());
  return rootfs.string();
}

Status DirectoryRootfs::release(const std::string& containerDir) {
  std::error_code ec;
  std::filesystem::remove_all(containerDir, ec);
  return okStatus();
}

Result<nlohmann::json> fakeSpec(const SpecInput& in) {
  nlohmann::json args = nlohmann::json::array();
  if (in.container.entryPoint) for (const auto& a : *in.container.entryPoint) args.push_back(a);
  if (in.container.command) for (const auto& a : *in.container.command) args.push_back(a);
  // The parts the task engine decides (env, mounts, network namespace) are
  // filled as the real builder does, so tests can check them.
  nlohmann::json env = nlohmann::json::array();
  for (const auto& [k, v] : in.container.environment) env.push_back(k + "=" + v);
  for (const auto& [k, v] : in.extraEnv) env.push_back(k + "=" + v);
  nlohmann::json mounts = nlohmann::json::array();
  for (const auto& m : in.mounts) {
    nlohmann::json options = {"rbind", m.readOnly ? "ro" : "rw"};
    mounts.push_back({{"destination", m.destination}, {"type", "bind"}, {"source", m.source}, {"options", options}});
  }
  nlohmann::json namespaces = nlohmann::json::array();
  if (in.task.networkMode != "host") {
    nlohmann::json net = {{"type", "network"}};
    if (!in.netnsPath.empty()) net["path"] = in.netnsPath;
    namespaces.push_back(net);
  }
  return nlohmann::json{{"ociVersion", "1.0.2"},
                        {"process", {{"args", args}, {"env", env}}},
                        {"root", {{"path", in.rootfs}}},
                        {"mounts", mounts},
                        {"linux", {{"namespaces", namespaces}}}};
}

}  // namespace berth::agent

#include "network/bridge_device.h"

#include <unistd.h>

#include "network/cni_exec.h"

namespace berth::network {
namespace {

bool linkExists(const std::string& name) { return access(("/sys/class/net/" + name).c_str(), F_OK) == 0; }

Status runIp(const std::string& ipPath, const std::vector<std::string>& args) {
  std::vector<std::string> argv{ipPath};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = runWithInput(argv, {}, "", std::chrono::seconds(10));
  if (!r) return r.takeError();
  if (r->exitCode != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return Error::make(ErrorCode::kInternal, cmd + " failed: " + r->err);
  }
  return okStatus();
}

}  // namespace

Status ensureBridge(const std::string& name, const std::string& gatewayCidr, const std::string& ipPath) {
  if (name.empty() || name.size() > 15) return Error::make(ErrorCode::kInvalidParameter, "bridge name must be 1-15 characters: " + name);
  if (!linkExists(name)) {
    auto added = runIp(ipPath, {"link", "add", "name", name, "type", "bridge"});
    if (!added && !linkExists(name)) return added;  // lost a race with another creator: fine
  }
  BERTH_TRY(runIp(ipPath, {"addr", "replace", gatewayCidr, "dev", name}));
  return runIp(ipPath, {"link", "set", name, "up"});
}

Status removeBridge(const std::string& name, const std::string& ipPath) {
  if (!linkExists(name)) return okStatus();
  auto r = runIp(ipPath, {"link", "del", name});
  if (!r && linkExists(name)) return r;
  return okStatus();
}

}  // namespace berth::network

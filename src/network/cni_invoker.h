#pragma once
// Runs a CNI network configuration list (conflist) the way libcni does:
//  * ADD calls each plugin in order; every plugin after the first gets the
//    previous plugin's result as `prevResult`, and the last result is the
//    network's result (the caller caches it).
//  * DEL calls the plugins in reverse order, each with the cached result as
//    `prevResult` (spec 0.4.0+), so DEL works from a record after a restart.
// Each plugin's config is the plugin entry plus the list's `name` and
// `cniVersion`, and a `runtimeConfig` holding only the runtime values whose
// names the plugin lists in its `capabilities` (e.g. portMappings for portmap).
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "network/cni_exec.h"

namespace berth::network {

// Per-attachment arguments (CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME).
struct CniRuntime {
  std::string containerId;
  std::string netnsPath;
  std::string ifName = "eth0";
  // Offered to plugins that declare the capability, e.g. {"portMappings": [...]}.
  nlohmann::json capabilityArgs = nlohmann::json::object();
};

class CniInvoker {
 public:
  CniInvoker(std::string pluginDir, CniExec exec);

  // Returns the final result of the chain. On a plugin error the plugins that
  // already ran are NOT undone here: the caller runs del() (it must anyway,
  // because the chain may have half-configured the namespace).
  Result<nlohmann::json> add(const nlohmann::json& conflist, const CniRuntime& rt) const;
  // cachedResult may be null (ADD never finished); plugins tolerate that.
  // Runs every plugin even when one fails, and reports the first failure.
  Status del(const nlohmann::json& conflist, const CniRuntime& rt, const nlohmann::json& cachedResult) const;

  // The stdin config for one plugin of the list (exposed for tests).
  static nlohmann::json pluginConfig(const nlohmann::json& conflist, const nlohmann::json& plugin,
                                     const CniRuntime& rt, const nlohmann::json& prevResult);

 private:
  Result<nlohmann::json> invoke(const std::string& command, const nlohmann::json& conflist,
                                const nlohmann::json& plugin, const CniRuntime& rt,
                                const nlohmann::json& prevResult) const;

  std::string pluginDir_;
  CniExec exec_;
};

// Turns a plugin's failed run into an operator-readable kInternal error:
// "CNI plugin bridge ADD failed: <msg> (<details>) [code N]". Accepts the
// spec's error object on stdout ({code, msg, details}); falls back to stderr.
Error cniPluginError(const std::string& plugin, const std::string& command, const CniExecOutput& output);

}  // namespace berth::network

#include "network/cni_invoker.h"

#include <optional>

#include "common/log.h"

namespace berth::network {

CniInvoker::CniInvoker(std::string pluginDir, CniExec exec) : pluginDir_(std::move(pluginDir)), exec_(std::move(exec)) {}

nlohmann::json CniInvoker::pluginConfig(const nlohmann::json& conflist, const nlohmann::json& plugin,
                                        const CniRuntime& rt, const nlohmann::json& prevResult) {
  nlohmann::json conf = plugin;
  conf["name"] = conflist.value("name", "");
  conf["cniVersion"] = conflist.value("cniVersion", "1.0.0");
  if (!prevResult.is_null()) conf["prevResult"] = prevResult;
  conf.erase("capabilities");
  nlohmann::json runtimeConfig = nlohmann::json::object();
  if (auto caps = plugin.find("capabilities"); caps != plugin.end() && caps->is_object()) {
    for (const auto& [name, enabled] : caps->items()) {
      if (enabled.is_boolean() && enabled.get<bool>() && rt.capabilityArgs.contains(name))
        runtimeConfig[name] = rt.capabilityArgs.at(name);
    }
  }
  if (!runtimeConfig.empty()) conf["runtimeConfig"] = runtimeConfig;
  return conf;
}

Error cniPluginError(const std::string& plugin, const std::string& command, const CniExecOutput& output) {
  std::string what = "CNI plugin " + plugin + " " + command + " failed";
  auto parsed = nlohmann::json::parse(output.out, nullptr, false);
  if (parsed.is_object() && parsed.contains("msg")) {
    what += ": " + parsed.value("msg", std::string());
    if (auto d = parsed.value("details", std::string()); !d.empty()) what += " (" + d + ")";
    if (parsed.contains("code") && parsed["code"].is_number_integer())
      what += " [code " + std::to_string(parsed["code"].get<int>()) + "]";
  } else {
    std::string err = output.err.empty() ? output.out : output.err;
    if (err.size() > 2000) err.resize(2000);
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    what += " (exit " + std::to_string(output.exitCode) + ")";
    if (!err.empty()) what += ": " + err;
  }
  return Error::make(ErrorCode::kInternal, what);
}

Result<nlohmann::json> CniInvoker::invoke(const std::string& command, const nlohmann::json& conflist,
                                          const nlohmann::json& plugin, const CniRuntime& rt,
                                          const nlohmann::json& prevResult) const {
  const std::string type = plugin.value("type", "");
  if (type.empty() || type.find('/') != std::string::npos)
    return Error::make(ErrorCode::kInvalidParameter, "CNI plugin entry without a valid type", conflist.value("name", ""));
  CniExecRequest req;
  req.pluginPath = pluginDir_ + "/" + type;
  req.env = {"CNI_COMMAND=" + command, "CNI_CONTAINERID=" + rt.containerId, "CNI_NETNS=" + rt.netnsPath,
             "CNI_IFNAME=" + rt.ifName, "CNI_PATH=" + pluginDir_};
  req.stdinData = pluginConfig(conflist, plugin, rt, prevResult).dump();
  auto out = exec_(req);
  if (!out) {
    auto e = out.takeError();
    return Error::make(e.code, "CNI plugin " + type + " " + command + ": " + e.message, e.context);
  }
  if (out->exitCode != 0) return cniPluginError(type, command, *out);
  if (command != "ADD") return nlohmann::json();
  auto result = nlohmann::json::parse(out->out, nullptr, false);
  if (!result.is_object())
    return Error::make(ErrorCode::kInternal, "CNI plugin " + type + " ADD returned no JSON result: " + out->out.substr(0, 500));
  return result;
}

Result<nlohmann::json> CniInvoker::add(const nlohmann::json& conflist, const CniRuntime& rt) const {
  nlohmann::json prev;  // null for the first plugin
  for (const auto& plugin : conflist.value("plugins", nlohmann::json::array())) {
    auto r = invoke("ADD", conflist, plugin, rt, prev);
    if (!r) return r.takeError();
    prev = std::move(*r);
  }
  return prev;
}

Status CniInvoker::del(const nlohmann::json& conflist, const CniRuntime& rt, const nlohmann::json& cachedResult) const {
  const auto plugins = conflist.value("plugins", nlohmann::json::array());
  std::optional<Error> first;
  for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
    auto r = invoke("DEL", conflist, *it, rt, cachedResult);
    if (!r) {
      log::warn("CNI DEL failed", {{"plugin", it->value("type", "")}, {"container", rt.containerId},
                                   {"error", r.error().message}});
      if (!first) first = r.takeError();
    }
  }
  if (first) return *first;
  return okStatus();
}

}  // namespace berth::network

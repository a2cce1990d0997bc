#include "control/task_reports.h"

#include <algorithm>
#include <cctype>

#include "control/json_fields.h"

namespace berth::control {
namespace {

using nlohmann::json;

constexpr const char* kEniType = "ElasticNetworkInterface";

bool contains(const json& list, const std::string& value) {
  return list.is_array() && std::find(list.begin(), list.end(), json(value)) != list.end();
}

json detail(const std::string& name, const std::string& value) { return {{"name", name}, {"value", value}}; }

std::string detailValue(const json& attachment, const std::string& name) {
  for (const auto& d : arrayOrEmpty(attachment, "details"))
    if (stringOr(d, "name", "") == name) return stringOr(d, "value", "");
  return "";
}

}  // namespace

bool validHealthStatus(const std::string& s) { return s == "HEALTHY" || s == "UNHEALTHY" || s == "UNKNOWN"; }

json healthCheckedContainers(const json& taskDefinition) {
  json names = json::array();
  for (const auto& c : arrayOrEmpty(taskDefinition, "containerDefinitions"))
    if (optField(c, "healthCheck")) names.push_back(stringOr(c, "name", ""));
  return names;
}

std::string deriveTaskHealth(const json& task) {
  const json berth = task.value("berth", json::object());
  const json essential = berth.value("essential", json::array());
  const json* checked = optField(berth, "healthChecked");
  bool anyChecked = false, allHealthy = true;
  for (const auto& c : arrayOrEmpty(task, "containers")) {
    const std::string name = stringOr(c, "name", "");
    if (!contains(essential, name)) continue;  // non-essential health never counts
    const std::string health = stringOr(c, "healthStatus", "UNKNOWN");
    if (health == "UNHEALTHY") return "UNHEALTHY";
    const bool hasCheck = checked ? contains(*checked, name) : health != "UNKNOWN";
    if (!hasCheck) continue;
    anyChecked = true;
    if (health != "HEALTHY") allHealthy = false;
  }
  return anyChecked && allHealthy ? "HEALTHY" : "UNKNOWN";
}

json newEniAttachment(const std::string& id, const std::string& subnetId) {
  return {{"id", id}, {"type", kEniType}, {"status", "PRECREATED"}, {"details", json::array({detail("subnetId", subnetId)})}};
}

std::string eniIdFor(const std::string& attachmentId) {
  std::string hex;
  for (char ch : attachmentId)
    if (std::isxdigit(static_cast<unsigned char>(ch))) hex.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  hex.resize(17, '0');
  return "eni-" + hex;
}

std::string privateDnsName(const std::string& ipv4, const std::string& region) {
  std::string host = "ip-" + ipv4;
  std::replace(host.begin(), host.end(), '.', '-');
  if (region == "us-east-1") return host + ".ec2.internal";
  return host + "." + region + ".compute.internal";
}

bool applyNetworkInterface(json& task, const json& report, const std::string& region) {
  const std::string ip = stringOr(report, "privateIPv4Address", "");
  if (ip.empty()) return false;
  bool changed = false;
  json& berth = task["berth"];
  if (!berth.is_object()) berth = json::object();
  if (berth.value("networkInterface", json()) != report) {
    berth["networkInterface"] = report;
    changed = true;
  }
  json* eni = nullptr;
  for (auto& a : task["attachments"])
    if (stringOr(a, "type", "") == kEniType) eni = &a;
  // Bridge/host tasks have no attachment in ECS; a deleted one stays deleted.
  if (!eni || stringOr(*eni, "status", "") == "DELETED") return changed;
  const std::string id = stringOr(*eni, "id", "");
  json details = json::array({detail("subnetId", detailValue(*eni, "subnetId")),
                              detail("networkInterfaceId", eniIdFor(id)),
                              detail("macAddress", stringOr(report, "macAddress", "")),
                              detail("privateDnsName", privateDnsName(ip, region)),
                              detail("privateIPv4Address", ip)});
  if ((*eni)["details"] != details || stringOr(*eni, "status", "") != "ATTACHED") {
    (*eni)["details"] = details;
    (*eni)["status"] = "ATTACHED";
    changed = true;
  }
  const json interfaces = json::array({{{"attachmentId", id}, {"privateIpv4Address", ip}}});
  for (auto& c : task["containers"]) {
    if (c.value("networkInterfaces", json()) == interfaces) continue;
    c["networkInterfaces"] = interfaces;
    changed = true;
  }
  return changed;
}

bool deleteEniAttachments(json& task) {
  bool changed = false;
  if (!task.contains("attachments")) return false;
  for (auto& a : task["attachments"]) {
    if (stringOr(a, "type", "") != kEniType || stringOr(a, "status", "") == "DELETED") continue;
    a["status"] = "DELETED";
    changed = true;
  }
  return changed;
}

}  // namespace berth::control

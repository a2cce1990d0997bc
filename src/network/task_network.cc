#include "network/task_network.h"

namespace berth::network {

nlohmann::json TaskNetwork::toJson() const {
  nlohmann::json b = nlohmann::json::array();
  for (const auto& p : bindings)
    b.push_back({{"containerName", p.containerName},
                 {"bindIP", p.bindIP},
                 {"containerPort", p.containerPort},
                 {"hostPort", p.hostPort},
                 {"protocol", p.protocol}});
  return {{"networkMode", networkMode},
          {"netnsPath", netnsPath},
          {"ipv4Address", ipv4Address},
          {"ipv4SubnetCidrBlock", ipv4SubnetCidrBlock},
          {"gatewayIpv4Address", gatewayIpv4Address},
          {"macAddress", macAddress},
          {"interfaceName", interfaceName},
          {"bindings", b}};
}

Result<TaskNetwork> TaskNetwork::fromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Error::make(ErrorCode::kInvalidParameter, "task network record is not an object");
  TaskNetwork n;
  n.networkMode = j.value("networkMode", "");
  n.netnsPath = j.value("netnsPath", "");
  n.ipv4Address = j.value("ipv4Address", "");
  n.ipv4SubnetCidrBlock = j.value("ipv4SubnetCidrBlock", "");
  n.gatewayIpv4Address = j.value("gatewayIpv4Address", "");
  n.macAddress = j.value("macAddress", "");
  n.interfaceName = j.value("interfaceName", "");
  for (const auto& p : j.value("bindings", nlohmann::json::array())) {
    if (!p.is_object()) return Error::make(ErrorCode::kInvalidParameter, "task network binding is not an object");
    n.bindings.push_back({p.value("containerName", ""), p.value("bindIP", "0.0.0.0"), p.value("containerPort", 0),
                          p.value("hostPort", 0), p.value("protocol", "tcp")});
  }
  return n;
}

}  // namespace berth::network

#pragma once
// The Berth bridges themselves. The agent creates them (rather than letting
// the bridge plugin do it with isGateway=true) so that it can give the bridge
// its gateway address without the plugin also enabling host-wide IP
// forwarding; see cni_config.h for the routing rule.
#include <string>

#include "common/result.h"

namespace berth::network {

// Creates the bridge if missing, sets `gatewayCidr` on it (replace: idempotent)
// and brings it up. Uses iproute2 (`ip`), found at ipPath.
Status ensureBridge(const std::string& name, const std::string& gatewayCidr, const std::string& ipPath = "/usr/sbin/ip");
// Deletes the bridge (tests, decommissioning); a missing bridge is fine.
Status removeBridge(const std::string& name, const std::string& ipPath = "/usr/sbin/ip");

}  // namespace berth::network

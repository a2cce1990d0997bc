#include "control/first_fit.h"

namespace berth::control {

PlacementResult place(const PlacementRequest& request, std::span<const PlacementCandidate> instances) {
  PlacementResult result;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    const auto& c = instances[i];
    // Cheap filters first: status, agent, then resources.
    if (c.status != "ACTIVE") {
      result.failures.push_back({c.arn, "INACTIVE"});
      continue;
    }
    if (!c.agentConnected) {
      result.failures.push_back({c.arn, "AGENT"});
      continue;
    }
    if (auto reason = shortfall(c.remaining, request.demand)) {
      result.failures.push_back({c.arn, *reason});
      continue;
    }
    result.chosen = i;
    return result;
  }
  return result;
}

}  // namespace berth::control

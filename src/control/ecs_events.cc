#include "control/ecs_events.h"

#include <cmath>
#include <ctime>

namespace berth::control {
namespace {

using nlohmann::json;

std::string isoFormat(double epochSeconds, bool millis) {
  const double whole = std::floor(epochSeconds);
  std::time_t t = static_cast<std::time_t>(whole);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (millis) {
    int ms = static_cast<int>(std::lround((epochSeconds - whole) * 1000.0));
    if (ms > 999) ms = 999;
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03d", ms);
    out += frac;
  }
  return out + "Z";
}

}  // namespace

std::string isoSeconds(double epochSeconds) { return isoFormat(epochSeconds, false); }
std::string isoMillis(double epochSeconds) { return isoFormat(epochSeconds, true); }

json eventEnvelope(const AccountInfo& account, Random& random, const std::string& detailType,
                   std::vector<std::string> resources, json detail, double now) {
  return json{{"version", "0"},
              {"id", random.uuid()},
              {"detail-type", detailType},
              {"source", "aws.ecs"},
              {"account", account.accountId},
              {"time", isoSeconds(now)},
              {"region", account.region},
              {"resources", std::move(resources)},
              {"detail", std::move(detail)}};
}

json serviceEvent(const AccountInfo& account, Random& random, const std::string& serviceArn,
                  const std::string& clusterArn, const scheduler::ServiceNotification& n, double now) {
  if (n.kind == scheduler::ServiceNotification::Kind::kDeploymentStateChange) {
    json detail = {{"eventType", n.eventType},
                   {"eventName", n.eventName},
                   {"deploymentId", n.deploymentId},
                   {"updatedAt", isoMillis(now)},
                   {"reason", n.reason}};
    return eventEnvelope(account, random, "ECS Deployment State Change", {serviceArn}, std::move(detail), now);
  }
  json detail = {{"eventType", n.eventType},
                 {"eventName", n.eventName},
                 {"clusterArn", clusterArn},
                 {"createdAt", isoMillis(now)}};
  if (!n.reason.empty()) detail["reason"] = n.reason;
  return eventEnvelope(account, random, "ECS Service Action", {serviceArn}, std::move(detail), now);
}

}  // namespace berth::control

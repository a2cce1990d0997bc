#pragma once
// What the agent's reports add to a stored task beyond statuses (issue #5,
// docs/dev/agent-protocol.md "Issue #5 adds"): container and task health, and
// the awsvpc task's ElasticNetworkInterface attachment. Pure functions over
// the stored task document; task_ops does the transactions.
#include <string>

#include <nlohmann/json.hpp>

namespace berth::control {

// --- health -------------------------------------------------------------

// True for the values a container's healthStatus may take.
bool validHealthStatus(const std::string& s);

// The task's healthStatus from its containers (ECS rule): any essential
// container UNHEALTHY -> UNHEALTHY; else every essential container that has a
// health check HEALTHY (and at least one has one) -> HEALTHY; else UNKNOWN.
// Non-essential containers never count. Which containers have a check comes
// from berth.healthChecked (set at launch); for older documents without it,
// a container that reported HEALTHY/UNHEALTHY is taken to have one.
std::string deriveTaskHealth(const nlohmann::json& task);

// The names of the task definition's containers that declare a healthCheck.
nlohmann::json healthCheckedContainers(const nlohmann::json& taskDefinition);

// --- awsvpc ENI attachment ------------------------------------------------

// The attachment an awsvpc task gets at launch: PRECREATED, details subnetId.
nlohmann::json newEniAttachment(const std::string& id, const std::string& subnetId);

// "eni-" + 17 hex digits derived from the attachment id (stable, so repeated
// reports give the same id).
std::string eniIdFor(const std::string& attachmentId);

// EC2's private DNS name for an address: ip-a-b-c-d.ec2.internal in
// us-east-1, ip-a-b-c-d.<region>.compute.internal elsewhere.
std::string privateDnsName(const std::string& ipv4, const std::string& region);

// Applies the agent's "networkInterface" report to an awsvpc task: the
// ElasticNetworkInterface attachment becomes ATTACHED with its details and
// every container gets networkInterfaces [{attachmentId, privateIpv4Address}].
// A task without such an attachment (bridge/host) keeps the address under
// berth.networkInterface only. A stopped (DELETED) attachment is left alone.
// Returns whether the document changed.
bool applyNetworkInterface(nlohmann::json& task, const nlohmann::json& report, const std::string& region);

// The task stopped: its ENI attachments become DELETED (ECS passes through
// DETACHING; one step is enough here). Returns whether anything changed.
bool deleteEniAttachments(nlohmann::json& task);

}  // namespace berth::control

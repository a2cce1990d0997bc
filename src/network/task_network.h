#pragma once
// Task networking on a node (issue #5). One implementation drives the CNI
// plugins (Debian's containernetworking-plugins in /usr/lib/cni): every task
// that is not in `host` mode gets its own network namespace, pinned under the
// agent's data dir, and the runner points each container's OCI spec at it.
// FakeNetworking (for tests and `berth agent --simulate`) allocates ports and
// addresses in memory and makes no namespaces.
//
// Modes (ECS networkMode):
//  * none   — a private namespace with loopback only.
//  * host   — no namespace: containers share the host's; portMappings bind
//             directly (hostPort == containerPort), nothing to set up.
//  * bridge — a namespace on the Berth bridge (CNI bridge + host-local IPAM +
//             portmap). Each portMapping gets a host port: the fixed hostPort,
//             or a dynamic one from the ephemeral range when hostPort is 0/absent.
//  * awsvpc — a namespace with its own routable IP on the Berth task subnet
//             (reported as an ElasticNetworkInterface); containers share
//             localhost; no host ports.
//
// Implementations: CniTaskNetworking (cni_task_networking.h; routing rule and
// ip_forward in cni_config.h, held host ports in host_port_sockets.h) and
// FakeNetworking (fake_networking.h).
//
// Durability: setup() records what it did (CNI results, allocated ports) under
// the agent's data dir before returning, so teardown() works after an agent
// restart or crash, and release of IPs/ports never depends on process memory.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::network {

struct PortMappingRequest {
  std::string containerName;
  int containerPort = 0;
  int hostPort = 0;              // 0 = dynamic (bridge); ignored for awsvpc
  std::string protocol = "tcp";  // "tcp" | "udp"
};

// ECS NetworkBinding.
struct PortBinding {
  std::string containerName;
  std::string bindIP = "0.0.0.0";
  int containerPort = 0;
  int hostPort = 0;
  std::string protocol = "tcp";
};

struct TaskNetworkRequest {
  std::string taskId;   // last segment of the task ARN; names the namespace
  std::string taskArn;
  std::string networkMode;  // none | host | bridge | awsvpc ("" = bridge, ECS's default)
  std::vector<PortMappingRequest> portMappings;  // every container's, in definition order
};

struct TaskNetwork {
  std::string networkMode;
  std::string netnsPath;  // empty for host mode: containers use the host's namespace
  // bridge/awsvpc: the task's address on the Berth network; host: the host's
  // primary address (may be empty); none: empty.
  std::string ipv4Address;
  std::string ipv4SubnetCidrBlock;  // e.g. "10.88.0.0/16"
  std::string gatewayIpv4Address;   // the bridge's address (reachable from the task)
  std::string macAddress;           // the task's interface MAC ("" when none/host)
  std::string interfaceName;        // "eth0" inside the namespace
  std::vector<PortBinding> bindings;  // one per portMapping (empty for awsvpc/none)

  nlohmann::json toJson() const;
  static Result<TaskNetwork> fromJson(const nlohmann::json& j);
};

class TaskNetworking {
 public:
  virtual ~TaskNetworking() = default;
  // Creates the task's network. Errors: kConflict when a fixed host port is
  // taken (on this node or by another process), kUnavailable when no dynamic
  // port or address is left, kInternal when a plugin fails (message names
  // the plugin and what it said). On error nothing is left behind.
  virtual Result<TaskNetwork> setup(const TaskNetworkRequest& request) = 0;
  // What setup() returned for a task, from the durable record (agent restart).
  // nullopt when the task has no network record.
  virtual Result<std::optional<TaskNetwork>> recover(const std::string& taskId) = 0;
  // Undoes setup: CNI DEL with the cached config/result, namespace removed,
  // ports and address released. Idempotent; succeeds when nothing is left.
  virtual Status teardown(const std::string& taskId) = 0;
};

}  // namespace berth::network

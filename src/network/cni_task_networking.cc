#include "network/cni_task_networking.h"

#include <unistd.h>

#include "common/fs_util.h"
#include "common/log.h"
#include "network/bridge_device.h"

namespace berth::network {
namespace {

// Releases the task's "busy" mark when a setup/teardown call ends.
class BusyGuard {
 public:
  BusyGuard(std::mutex& mu, std::set<std::string>& busy, std::string id) : mu_(mu), busy_(busy), id_(std::move(id)) {}
  ~BusyGuard() {
    std::lock_guard lock(mu_);
    busy_.erase(id_);
  }

 private:
  std::mutex& mu_;
  std::set<std::string>& busy_;
  std::string id_;
};

Status checkMappingsForNamespaceMode(const std::string& mode, const std::vector<PortMappingRequest>& mappings) {
  for (const auto& m : mappings) {
    if (mode == "none")
      return Error::make(ErrorCode::kInvalidParameter, "portMappings are not allowed with networkMode none");
    if (m.hostPort != 0 && m.hostPort != m.containerPort)
      return Error::make(ErrorCode::kInvalidParameter, "networkMode " + mode + ": hostPort must be empty or equal containerPort (" +
                                                           m.containerName + ")");
  }
  return okStatus();
}

}  // namespace

Result<std::unique_ptr<CniTaskNetworking>> CniTaskNetworking::open(CniNetworkingOptions options, CniHostOps ops) {
  if (options.dataDir.empty() || options.dataDir[0] != '/')
    return Error::make(ErrorCode::kInvalidParameter, "network data dir must be an absolute path: " + options.dataDir);
  auto bridgeSubnet = parseIpv4Subnet(options.bridgeSubnet);
  if (!bridgeSubnet) return bridgeSubnet.takeError();
  auto awsvpcSubnet = parseIpv4Subnet(options.awsvpcSubnet);
  if (!awsvpcSubnet) return awsvpcSubnet.takeError();
  if (bridgeSubnet->contains(awsvpcSubnet->network) || awsvpcSubnet->contains(bridgeSubnet->network))
    return Error::make(ErrorCode::kInvalidParameter, "bridge and awsvpc subnets overlap: " + options.bridgeSubnet + ", " + options.awsvpcSubnet);
  for (const auto* name : {&options.bridgeName, &options.awsvpcBridgeName})
    if (name->empty() || name->size() > 15)
      return Error::make(ErrorCode::kInvalidParameter, "bridge name must be 1-15 characters: " + *name);
  if (options.bridgeName == options.awsvpcBridgeName)
    return Error::make(ErrorCode::kInvalidParameter, "bridge and awsvpc bridge names must differ");
  if (options.dynamicPortRange.first < 1 || options.dynamicPortRange.last > 65535 ||
      options.dynamicPortRange.first > options.dynamicPortRange.last)
    return Error::make(ErrorCode::kInvalidParameter, "invalid dynamic host port range");

  std::unique_ptr<CniTaskNetworking> n(new CniTaskNetworking(std::move(options), std::move(ops), *bridgeSubnet, *awsvpcSubnet));
  BERTH_TRY(makeDirs(n->netnsDir_, 0700));
  BERTH_TRY(makeDirs(n->ipamDir_, 0700));
  BERTH_TRY(n->records_.init());
  auto ids = n->records_.taskIds();
  if (!ids) return ids.takeError();
  for (const auto& id : *ids) {
    auto r = n->records_.load(id);
    if (!r) {
      // A record we cannot read still names a task; keep going so the agent
      // starts, but say so: its ports are not protected.
      log::error("unreadable task network record", {{"task", id}, {"error", r.error().message}});
      continue;
    }
    if (!*r) continue;
    n->ports_.hold(id, (*r)->ports);
    if (n->options_.holdHostPortSockets && (*r)->networkMode == "bridge") n->portSockets_.hold(id, (*r)->ports);
  }
  return n;
}

CniTaskNetworking::CniTaskNetworking(CniNetworkingOptions options, CniHostOps ops, Ipv4Subnet bridgeSubnet,
                                     Ipv4Subnet awsvpcSubnet)
    : options_(std::move(options)),
      ops_(std::move(ops)),
      bridgeSubnet_(bridgeSubnet),
      awsvpcSubnet_(awsvpcSubnet),
      invoker_(options_.pluginDir, ops_.exec ? ops_.exec : processCniExec(options_.pluginTimeout)),
      records_(options_.dataDir + "/cni/tasks"),
      netnsDir_(options_.dataDir + "/netns"),
      ipamDir_(options_.dataDir + "/cni/ipam"),
      ports_(options_.dynamicPortRange, ops_.portProbe ? ops_.portProbe : HostPortProbe(hostPortFree)) {
  if (!ops_.netns.create) ops_.netns.create = createPinnedNetns;
  if (!ops_.netns.remove) ops_.netns.remove = removePinnedNetns;
  if (!ops_.netns.alive) ops_.netns.alive = isPinnedNetns;
  if (!ops_.hostAddresses)
    ops_.hostAddresses = [this] { return hostIpv4Addresses({bridgeSubnet_, awsvpcSubnet_}); };
}

Result<TaskNetwork> CniTaskNetworking::setup(const TaskNetworkRequest& request) {
  BERTH_TRY(validateTaskId(request.taskId));
  const std::string mode = request.networkMode.empty() ? "bridge" : request.networkMode;
  if (mode != "bridge" && mode != "host" && mode != "awsvpc" && mode != "none")
    return Error::make(ErrorCode::kInvalidParameter, "unsupported networkMode: " + mode);
  {
    std::lock_guard lock(mu_);
    if (!busy_.insert(request.taskId).second)
      return Error::make(ErrorCode::kFailedPrecondition, "network setup/teardown already running for task " + request.taskId);
  }
  BusyGuard guard(mu_, busy_, request.taskId);
  auto existing = records_.load(request.taskId);
  if (!existing) return existing.takeError();
  if (*existing) {
    // setup() again for a finished task returns what it has (agent retries);
    // an unfinished record is a crashed setup: undo it, then start over.
    if ((*existing)->complete && (*existing)->network && (*existing)->networkMode == mode) return *(*existing)->network;
    BERTH_TRY(undo(**existing));
  }
  return setupFresh(request, mode);
}

Result<TaskNetwork> CniTaskNetworking::setupFresh(const TaskNetworkRequest& request, const std::string& mode) {
  TaskNetworkRecord record;
  record.taskId = request.taskId;
  record.networkMode = mode;
  record.containerId = "berth-" + request.taskId;

  if (mode == "host") {
    // Containers bind host interfaces: hostPort is the containerPort; held
    // like any other host port so two host-mode tasks cannot both take it.
    std::vector<PortMappingRequest> fixed = request.portMappings;
    for (auto& m : fixed) {
      if (m.hostPort != 0 && m.hostPort != m.containerPort)
        return Error::make(ErrorCode::kInvalidParameter, "networkMode host: hostPort must be empty or equal containerPort (" +
                                                             m.containerName + ")");
      m.hostPort = m.containerPort;
    }
    TaskNetwork n;
    n.networkMode = mode;
    auto addrs = ops_.hostAddresses();
    if (!addrs.empty()) n.ipv4Address = addrs.front();
    std::lock_guard lock(mu_);
    auto bindings = ports_.allocate(request.taskId, fixed);
    if (!bindings) return bindings.takeError();
    n.bindings = *bindings;
    record.ports = *bindings;
    record.complete = true;
    record.network = n;
    if (auto saved = records_.save(record); !saved) {
      ports_.release(request.taskId);
      return saved.takeError();
    }
    return n;
  }

  if (mode != "bridge") BERTH_TRY(checkMappingsForNamespaceMode(mode, request.portMappings));
  record.netnsPath = netnsDir_ + "/" + request.taskId;
  const bool bridged = mode == "bridge";
  const std::string bridge = bridged ? options_.bridgeName : options_.awsvpcBridgeName;
  const Ipv4Subnet& subnet = bridged ? bridgeSubnet_ : awsvpcSubnet_;
  if (mode != "none") {
    BridgeNetworkConfig c;
    c.networkName = "berth-" + bridge;
    c.bridgeName = bridge;
    c.subnet = subnet;
    c.ipamDataDir = ipamDir_;
    c.portMappings = bridged && !request.portMappings.empty();
    c.hostAddresses = ops_.hostAddresses();
    record.conflist = bridgeConflist(c);
  }
  {
    // Ports and the record are taken together: the record is durable before
    // anything exists on the host, so a crash from here on is undone by teardown().
    std::lock_guard lock(mu_);
    if (bridged) {
      auto bindings = ports_.allocate(request.taskId, request.portMappings);
      if (!bindings) return bindings.takeError();
      record.ports = *bindings;
      if (!record.ports.empty()) record.capabilityArgs["portMappings"] = portmapRuntimeConfig(record.ports);
      if (options_.holdHostPortSockets) portSockets_.hold(request.taskId, record.ports);
    }
    if (auto saved = records_.save(record); !saved) {
      ports_.release(request.taskId);
      portSockets_.release(request.taskId);
      return saved.takeError();
    }
  }
  return setupCni(std::move(record), bridge, subnet);
}

Result<TaskNetwork> CniTaskNetworking::setupCni(TaskNetworkRecord record, const std::string& bridge,
                                                const Ipv4Subnet& subnet) {
  auto rollback = [&](Error e) -> Error {
    if (auto undone = undo(record); !undone)
      log::error("network setup rollback failed; teardown will retry from the record",
                 {{"task", record.taskId}, {"error", undone.error().message}});
    return e;
  };
  if (auto made = ops_.netns.create(record.netnsPath); !made) return rollback(made.takeError());
  TaskNetwork n;
  n.networkMode = record.networkMode;
  n.netnsPath = record.netnsPath;
  if (!record.conflist.is_null()) {
    if (auto br = ensureBridgeOnce(bridge, subnet); !br) return rollback(br.takeError());
    CniRuntime rt{record.containerId, record.netnsPath, record.ifName, record.capabilityArgs};
    auto added = invoker_.add(record.conflist, rt);
    if (!added) return rollback(added.takeError());
    record.cniResult = *added;
    auto addr = addressFromResult(*added, record.ifName);
    if (!addr) return rollback(addr.takeError());
    n.ipv4Address = addr->ipv4;
    n.ipv4SubnetCidrBlock = subnet.cidr();
    n.gatewayIpv4Address = subnet.gateway();
    n.macAddress = addr->mac;
    n.interfaceName = record.ifName;
    n.bindings = record.ports;
  }
  record.network = n;
  record.complete = true;
  {
    std::lock_guard lock(mu_);
    if (auto saved = records_.save(record); !saved) return rollback(saved.takeError());
  }
  return n;
}

Status CniTaskNetworking::undo(const TaskNetworkRecord& record) {
  if (!record.conflist.is_null()) {
    // A namespace that is gone (reboot, crash before it was made) is passed
    // as "": the plugins then release IPAM and iptables state only.
    const bool alive = !record.netnsPath.empty() && ops_.netns.alive(record.netnsPath);
    CniRuntime rt{record.containerId, alive ? record.netnsPath : "", record.ifName, record.capabilityArgs};
    // A failed DEL keeps the record (and the ports): teardown() retries it.
    BERTH_TRY(invoker_.del(record.conflist, rt, record.cniResult));
  }
  if (!record.netnsPath.empty()) BERTH_TRY(ops_.netns.remove(record.netnsPath));
  std::lock_guard lock(mu_);
  BERTH_TRY(records_.remove(record.taskId));
  ports_.release(record.taskId);
  portSockets_.release(record.taskId);
  return okStatus();
}

Result<std::optional<TaskNetwork>> CniTaskNetworking::recover(const std::string& taskId) {
  auto r = records_.load(taskId);
  if (!r) return r.takeError();
  if (!*r || !(*r)->complete || !(*r)->network) return std::optional<TaskNetwork>();
  return std::optional<TaskNetwork>((*r)->network);
}

Status CniTaskNetworking::teardown(const std::string& taskId) {
  BERTH_TRY(validateTaskId(taskId));
  {
    std::lock_guard lock(mu_);
    if (!busy_.insert(taskId).second)
      return Error::make(ErrorCode::kFailedPrecondition, "network setup/teardown already running for task " + taskId);
  }
  BusyGuard guard(mu_, busy_, taskId);
  auto r = records_.load(taskId);
  if (!r) return r.takeError();
  if (!*r) return okStatus();
  return undo(**r);
}

Result<std::vector<std::string>> CniTaskNetworking::recordedTasks() const { return records_.taskIds(); }

Status CniTaskNetworking::ensureBridgeOnce(const std::string& bridge, const Ipv4Subnet& subnet) {
  std::lock_guard lock(bridgeMu_);
  if (ops_.ensureBridge) return ops_.ensureBridge(bridge, subnet.gatewayCidr());
  // `ip` runs only the first time (or when someone deleted the bridge).
  if (verifiedBridges_.count(bridge) && access(("/sys/class/net/" + bridge).c_str(), F_OK) == 0) return okStatus();
  BERTH_TRY(ensureBridge(bridge, subnet.gatewayCidr(), options_.ipPath));
  verifiedBridges_.insert(bridge);
  return okStatus();
}

}  // namespace berth::network

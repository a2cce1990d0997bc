#pragma once
// TaskNetworking through the CNI plugins (see task_network.h for the modes).
//
// Layout under options.dataDir (the agent's data dir):
//   netns/<taskId>            the task's pinned network namespace
//   cni/tasks/<taskId>.json   the durable record (task_network_record.h)
//   cni/ipam/                 host-local's state (never /var/lib/cni, so
//                             agents and tests on one machine never share it)
//
// Host ports are held in memory by a PortAllocator that is rebuilt from the
// records on construction, so a restarted agent (same dataDir) never hands
// out a port a surviving task still uses. IPs are held by host-local's files.
//
// Thread-safe: allocation and record writes are serialized; plugin runs of
// different tasks proceed in parallel.
#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "network/cni_config.h"
#include "network/cni_exec.h"
#include "network/cni_invoker.h"
#include "network/host_port_sockets.h"
#include "network/netns.h"
#include "network/port_allocator.h"
#include "network/task_network.h"
#include "network/task_network_record.h"

namespace berth::network {

struct CniNetworkingOptions {
  std::string dataDir;                      // required: the agent's data dir
  std::string pluginDir = "/usr/lib/cni";
  std::string bridgeName = "berth0";        // networkMode bridge
  std::string bridgeSubnet = "10.213.0.0/16";
  std::string awsvpcBridgeName = "berth-vpc0";  // networkMode awsvpc
  std::string awsvpcSubnet = "10.214.0.0/16";
  PortRange dynamicPortRange = defaultDynamicPortRange();
  std::chrono::milliseconds pluginTimeout{30000};  // per plugin invocation
  std::string ipPath = "/usr/sbin/ip";
  // Keep a bound socket per bridge-mode host port (host_port_sockets.h), so
  // other processes and other agents in the same namespace see it as taken.
  bool holdHostPortSockets = true;
};

// What touches the host, replaceable in unit tests.
struct CniHostOps {
  CniExec exec;                     // empty = processCniExec(options.pluginTimeout)
  NetnsOps netns;                   // pinned namespaces
  std::function<Status(const std::string& bridge, const std::string& gatewayCidr)> ensureBridge;  // empty = real
  HostPortProbe portProbe = hostPortFree;
  // The host addresses routed into task namespaces; empty = hostIpv4Addresses.
  std::function<std::vector<std::string>()> hostAddresses;
};

class CniTaskNetworking : public TaskNetworking {
 public:
  // Validates the options, creates the directories and re-holds the ports of
  // every recorded task.
  static Result<std::unique_ptr<CniTaskNetworking>> open(CniNetworkingOptions options, CniHostOps ops = {});

  Result<TaskNetwork> setup(const TaskNetworkRequest& request) override;
  Result<std::optional<TaskNetwork>> recover(const std::string& taskId) override;
  Status teardown(const std::string& taskId) override;

  // Every task with a record, finished or not. After a restart the agent
  // tears down those it no longer runs (a crash mid-setup leaves an
  // unfinished record that recover() reports as nullopt).
  Result<std::vector<std::string>> recordedTasks() const;

  const CniNetworkingOptions& options() const { return options_; }

 private:
  CniTaskNetworking(CniNetworkingOptions options, CniHostOps ops, Ipv4Subnet bridgeSubnet, Ipv4Subnet awsvpcSubnet);
  Result<TaskNetwork> setupFresh(const TaskNetworkRequest& request, const std::string& mode);
  Result<TaskNetwork> setupCni(TaskNetworkRecord record, const std::string& bridge, const Ipv4Subnet& subnet);
  Status undo(const TaskNetworkRecord& record);
  Status ensureBridgeOnce(const std::string& bridge, const Ipv4Subnet& subnet);

  CniNetworkingOptions options_;
  CniHostOps ops_;
  Ipv4Subnet bridgeSubnet_;
  Ipv4Subnet awsvpcSubnet_;
  CniInvoker invoker_;
  TaskNetworkRecordStore records_;
  std::string netnsDir_;
  std::string ipamDir_;

  std::mutex mu_;  // ports_, records_ writes, busy_
  PortAllocator ports_;
  std::set<std::string> busy_;  // tasks with a setup/teardown in flight
  HostPortSockets portSockets_;
  std::mutex bridgeMu_;
  std::set<std::string> verifiedBridges_;  // under bridgeMu_
};

}  // namespace berth::network

#pragma once
// `berth agent --simulate N`: one process stands for N container instances
// and runs their tasks with no containers (SimulatedTask's lifecycle), over the
// same ECS operations and agent channel as a real agent. Built for N = 10,000
// instances and 100,000 tasks on a small machine, so nothing is per instance
// or per task but data:
//   - registration: a pool of `registrationConcurrency` threads;
//   - task channel: one thread per `instancesPerPoll` instances, each sending
//     batched long polls (FleetChannel::pollTasks);
//   - reports: `reportWorkers` threads take task ARNs from one queue; a task
//     has at most one report queued or in flight, which always carries its
//     latest status (so reports of one task never overtake each other), and a
//     report the server could not take (unreachable, 5xx) is retried with
//     backoff until it is taken or the fleet stops: none is dropped;
//   - timers (start/stop delays) and the record: one housekeeping thread.
//
// Restart: DATA_DIR/simulated-fleet.json keeps the instances' ARNs (by index)
// and each task's statuses. A restarted fleet re-registers instance i with
// its old containerInstanceArn (a deregistered one registers anew and
// forgets its tasks), re-sends every report the server had not accepted, and
// polls from version 0. A task the server shows on one of our instances that
// the record does not know (the record is written every persistInterval, so
// a crash can lose the newest) is adopted: RUNNING stays RUNNING (simulated
// containers have nothing to lose), PENDING starts, as with any new task.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "agent/fleet_channel.h"
#include "agent/instance_registration.h"
#include "agent/simulated_task.h"
#include "common/clock.h"

namespace berth::agent {

struct SimulatedFleetOptions {
  InstanceConfig instance;                     // cluster, instance type, attributes, cpu, memory
  std::vector<std::string> availabilityZones;  // instance i is in zone i % size (round-robin)
  std::size_t count = 1;
  std::string dataDir;  // the record lives here; also seeds the instances' EC2 ids
  std::string agentVersion = "berth-0.1.0";
  SimDelays delays;
  std::size_t registrationConcurrency = 16;
  std::size_t instancesPerPoll = 2500;
  std::size_t reportWorkers = 8;
  std::chrono::seconds pollWait{20};
  std::chrono::milliseconds persistInterval{5000};  // record writes while tasks change (a crash loses at most this much: adoption covers it)
  std::chrono::milliseconds retryBackoffStart{200};
  std::chrono::milliseconds retryBackoffMax{5000};
};

class SimulatedFleet {
 public:
  // `channel` and `clock` must outlive the fleet.
  SimulatedFleet(SimulatedFleetOptions options, FleetChannel& channel, const Clock& clock);
  ~SimulatedFleet();  // stop(), join, final record write

  // Loads the record, creates the cluster, registers every instance (retrying
  // while the server is unreachable, until stop()), then starts polling,
  // reporting and timers. Returns once every instance is registered.
  Status start();
  // Ends polls and workers; reports not yet accepted stay in the record.
  void stop();

  std::vector<std::string> instanceArns() const;
  std::size_t taskCount() const;
  std::optional<SimulatedTask> taskForTest(const std::string& arn) const;
  // Writes the record now (tests; stop() does it too).
  Status persistNow();

 private:
  struct Instance {
    std::string arn;  // empty while (re-)registering
    std::vector<std::string> tasks;  // ARNs of its known tasks
  };
  struct Timer {
    std::chrono::steady_clock::time_point due;
    std::string arn;
    bool operator>(const Timer& o) const { return due > o.due; }
  };

  Status loadRecord();
  Result<std::string> registerInstance(std::size_t index, const std::string& previousArn);
  Status registerAll();
  void pollLoop(std::size_t first, std::size_t last);
  void applyInstance(std::size_t index, const InstanceTasks& update, std::vector<ServerTaskView> views);
  void reportLoop();
  void housekeepingLoop();
  // Under mu_: queues a report of `t` if it has news and none is queued.
  void queueReportLocked(SimulatedTask& t);
  void scheduleLocked(const std::string& arn, std::optional<std::chrono::steady_clock::time_point> due);
  bool sleepUnlessStopping(std::chrono::milliseconds d);
  SimNow now() const;

  SimulatedFleetOptions options_;
  FleetChannel& channel_;
  const Clock& clock_;
  std::string recordPath_;
  std::string clusterArn_;

  std::atomic<bool> stopping_{false};
  mutable std::mutex mu_;
  std::condition_variable reportsCv_;  // reports_ has work, or stopping
  std::condition_variable wakeCv_;     // timers changed, or stopping
  std::vector<Instance> instances_;
  std::unordered_map<std::string, std::size_t> instanceByArn_;
  std::unordered_map<std::string, SimulatedTask> tasks_;
  std::deque<std::string> reports_;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  bool dirty_ = false;
  std::mutex persistMu_;  // one record write at a time

  std::mutex lifecycleMu_;  // start() spawning threads vs stop() joining them
  std::vector<std::thread> threads_;
};

}  // namespace berth::agent

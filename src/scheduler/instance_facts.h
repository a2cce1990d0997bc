#pragma once
// The query language's view of one scheduler::Instance, with the tasks this
// placement call has already put on it (task:group, runningTasksCount).
#include <string>
#include <string_view>

#include "scheduler/placement.h"
#include "scheduler/query_language.h"

namespace berth::scheduler {

class SnapshotInstanceFacts final : public InstanceFacts {
 public:
  // `placedHere`: tasks of `requestGroup` placed on this instance earlier in the call.
  SnapshotInstanceFacts(const Instance& instance, const ClusterSnapshot& snapshot, std::string_view requestGroup,
                        int placedHere = 0)
      : instance_(instance), snapshot_(snapshot), requestGroup_(requestGroup), placedHere_(placedHere) {}

  const std::string* attribute(std::string_view name) const override { return instance_.attribute(name); }
  std::string_view ec2InstanceId() const override { return instance_.ec2InstanceId; }
  bool agentConnected() const override { return instance_.agentConnected; }
  std::string_view agentVersion() const override { return instance_.agentVersion; }
  double registeredAt() const override { return instance_.registeredAt; }
  int runningTasksCount() const override { return instance_.runningTasksCount + placedHere_; }
  bool hasTaskInGroup(std::string_view group) const override;

 private:
  const Instance& instance_;
  const ClusterSnapshot& snapshot_;
  std::string_view requestGroup_;
  int placedHere_;
};

}  // namespace berth::scheduler

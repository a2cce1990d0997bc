#include "scheduler/instance_facts.h"

namespace berth::scheduler {

bool SnapshotInstanceFacts::hasTaskInGroup(std::string_view group) const {
  if (placedHere_ > 0 && group == requestGroup_) return true;
  // groupIds is keyed by std::string; one lookup per evaluation of a
  // task-reading expression, which the memo cannot cache anyway.
  auto id = snapshot_.findGroup(std::string(group));
  return id && instance_.tasksInGroup(*id) > 0;
}

}  // namespace berth::scheduler

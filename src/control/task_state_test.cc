#include "control/task_state.h"

#include <gtest/gtest.h>

namespace berth::control {
namespace {

const TaskStatus kAll[] = {TaskStatus::kProvisioning, TaskStatus::kPending,      TaskStatus::kActivating,
                           TaskStatus::kRunning,      TaskStatus::kDeactivating, TaskStatus::kStopping,
                           TaskStatus::kDeprovisioning, TaskStatus::kStopped};

TEST(TaskStateTest, NamesAreEcsNamesInLifecycleOrder) {
  const char* names[] = {"PROVISIONING", "PENDING",  "ACTIVATING",     "RUNNING",
                         "DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"};
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(taskStatusName(kAll[i]), names[i]);
    EXPECT_EQ(parseTaskStatus(names[i]), kAll[i]);
    if (i > 0) EXPECT_LT(kAll[i - 1], kAll[i]);
  }
  EXPECT_FALSE(parseTaskStatus("running"));
  EXPECT_FALSE(parseTaskStatus("DELETED"));
  EXPECT_EQ(parseContainerStatus("RUNNING"), ContainerStatus::kRunning);
  EXPECT_FALSE(parseContainerStatus("ACTIVATING"));
}

TEST(TaskStateTest, AgentReportsNeverMoveBackwardOrRepeat) {
  for (auto from : kAll) {
    for (auto to : kAll) {
      auto step = nextTaskStatus(from, to, StatusSource::kAgent);
      if (to <= from) {
        EXPECT_FALSE(step.accepted) << int(from) << "->" << int(to);
        EXPECT_EQ(step.next, from);
      } else {
        EXPECT_TRUE(step.accepted) << int(from) << "->" << int(to);
        EXPECT_EQ(step.next, to);
      }
    }
  }
}

TEST(TaskStateTest, StepsMayBeSkippedAndFlagCrossings) {
  auto s = nextTaskStatus(TaskStatus::kPending, TaskStatus::kStopped, StatusSource::kAgent);
  EXPECT_TRUE(s.accepted);
  EXPECT_FALSE(s.reachedRunning);  // straight to STOPPED: it never ran
  EXPECT_TRUE(s.reachedStopping);
  EXPECT_TRUE(s.reachedStopped);
  s = nextTaskStatus(TaskStatus::kPending, TaskStatus::kRunning, StatusSource::kAgent);
  EXPECT_TRUE(s.reachedRunning);
  EXPECT_FALSE(s.reachedStopping);
  EXPECT_FALSE(s.reachedStopped);
  s = nextTaskStatus(TaskStatus::kRunning, TaskStatus::kStopping, StatusSource::kAgent);
  EXPECT_FALSE(s.reachedRunning);
  EXPECT_TRUE(s.reachedStopping);
}

TEST(TaskStateTest, ServerOnlyStopsTasksNoAgentStarted) {
  EXPECT_TRUE(nextTaskStatus(TaskStatus::kPending, TaskStatus::kStopped, StatusSource::kServer).accepted);
  EXPECT_TRUE(nextTaskStatus(TaskStatus::kProvisioning, TaskStatus::kStopped, StatusSource::kServer).accepted);
  EXPECT_FALSE(nextTaskStatus(TaskStatus::kRunning, TaskStatus::kStopped, StatusSource::kServer).accepted);
  EXPECT_FALSE(nextTaskStatus(TaskStatus::kPending, TaskStatus::kRunning, StatusSource::kServer).accepted);
  EXPECT_TRUE(serverMayStopDirectly(TaskStatus::kPending));
  EXPECT_FALSE(serverMayStopDirectly(TaskStatus::kActivating));
}

TEST(TaskStateTest, InitialStatusAndContainerOrder) {
  EXPECT_EQ(initialTaskStatus(true), TaskStatus::kProvisioning);
  EXPECT_EQ(initialTaskStatus(false), TaskStatus::kPending);
  EXPECT_TRUE(containerAdvances(ContainerStatus::kPending, ContainerStatus::kRunning));
  EXPECT_FALSE(containerAdvances(ContainerStatus::kStopped, ContainerStatus::kRunning));
  EXPECT_FALSE(containerAdvances(ContainerStatus::kRunning, ContainerStatus::kRunning));
}

}  // namespace
}  // namespace berth::control

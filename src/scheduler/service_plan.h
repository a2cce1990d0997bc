#pragma once
// The service scheduler's decisions (reference/ecs-services.md §2-§6,
// ecs-scheduling.md §7): one pure function that, given a service, its
// deployments and every task it knows of, says which tasks to start and stop,
// how the deployments move (PRIMARY/ACTIVE/INACTIVE, rolloutState), what the
// circuit breaker counts, and which service events to write.
//
// Pure: no I/O, no clock (`now` is an input), no randomness. The controller
// (control/service_controller) gathers the input from the state, calls
// planService() and carries the plan out; calling it again with the state
// that results converges (it never asks twice for what is already under way:
// tasks it asked to start show up PENDING, tasks it asked to stop show
// desiredStatus STOPPED).
//
// Arithmetic (ECS rounding): with D = desiredCount,
//   upper bound  maxTotal   = floor(D × maximumPercent / 100) tasks not STOPPED
//                              (all deployments, stopping ones included);
//   lower bound  minHealthy = ceil(D × minimumHealthyPercent / 100) healthy tasks.
// A task is healthy when lastStatus RUNNING, desiredStatus RUNNING and, if an
// essential container has a health check, healthStatus HEALTHY.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace berth::scheduler {

enum class SchedulingStrategy { kReplica, kDaemon };
enum class DeploymentStatus { kPrimary, kActive, kInactive };
enum class RolloutState { kInProgress, kCompleted, kFailed };

std::string_view deploymentStatusName(DeploymentStatus s);  // "PRIMARY", ...
std::string_view rolloutStateName(RolloutState s);          // "IN_PROGRESS", ...

struct ServiceSettings {
  std::string name;  // the serviceName (event texts say "(service <name>)")
  SchedulingStrategy scheduling = SchedulingStrategy::kReplica;
  int desiredCount = 0;  // REPLICA; ignored for DAEMON (one per eligible instance)
  int minimumHealthyPercent = 100;
  int maximumPercent = 200;
  bool circuitBreakerEnable = false;
  bool circuitBreakerRollback = false;
  double healthCheckGracePeriodSeconds = 0;
  // The service is being deleted (status DRAINING): every task stops, with no
  // lower bound, and no deployment starts anything.
  bool deleting = false;
};

struct Deployment {
  std::string id;  // "ecs-svc/<19 digits>", the tasks' startedBy
  DeploymentStatus status = DeploymentStatus::kPrimary;
  RolloutState rollout = RolloutState::kInProgress;
  std::string rolloutStateReason;
  double createdAt = 0;
  double updatedAt = 0;
  // Output only (the planner recomputes them): consecutive circuit-breaker
  // failures, and the deployment's tasks by state.
  int failedTasks = 0;
  int desiredCount = 0;
  int runningCount = 0;
  int pendingCount = 0;
};

struct ServiceTask {
  std::string id;            // 32-hex task id
  std::string deploymentId;  // the task's startedBy
  std::string lastStatus;    // PROVISIONING|PENDING|ACTIVATING|RUNNING|DEACTIVATING|STOPPING|DEPROVISIONING|STOPPED
  std::string desiredStatus; // RUNNING|STOPPED
  std::string healthStatus;  // HEALTHY|UNHEALTHY|UNKNOWN
  bool healthChecked = false;  // an essential container has a healthCheck
  std::string instanceId;      // the container instance it was placed on
  double createdAt = 0;
  double startedAt = 0;  // 0: never reached RUNNING
  double healthyAt = 0;  // first time it was healthy (startedAt when not health-checked); 0: never
  double stoppedAt = 0;  // 0: not STOPPED
  std::string stopCode;       // TaskFailedToStart, EssentialContainerExited, ServiceSchedulerInitiated, ...
  std::string stoppedReason;
};

// A container instance the service has tasks on or could place on.
struct ServiceInstance {
  std::string id;
  // ACTIVE (not DRAINING/INACTIVE) and, when the agent has been lost, false:
  // tasks on an instance that is not usable are replaced.
  bool usable = true;
  bool draining = false;
  // DAEMON: whether a daemon task belongs here (ACTIVE and the service's
  // constraints hold). Ignored for REPLICA.
  bool daemonEligible = false;
};

struct ServiceInput {
  ServiceSettings settings;
  // Newest first: deployments[0] is PRIMARY. Only PRIMARY and ACTIVE ones.
  std::vector<Deployment> deployments;
  // The newest deployment that reached COMPLETED (rollback target), whether
  // or not it is still in `deployments`.
  std::optional<Deployment> lastCompleted;
  // Every task of the service the store still holds (STOPPED ones until
  // they are reaped: the circuit breaker and the launch throttle read them).
  std::vector<ServiceTask> tasks;
  // Every non-INACTIVE instance of the cluster the service has tasks on, and
  // for DAEMON every registered instance.
  std::vector<ServiceInstance> instances;
  double now = 0;
  // When the service last changed by UpdateService/CreateService: failures
  // before it do not throttle launches.
  double updatedAt = 0;
  // When "has reached a steady state" was last written (0: never, or not
  // steady since): while steady it is repeated every kSteadyStateReminder.
  double lastSteadyStateEventAt = 0;
  // The previous plan's ServicePlan::launchesThrottledUntil (0: not
  // throttled). Only decides when "is unable to consistently start tasks
  // successfully" is written: once each time a new start failure engages the
  // throttle. Left at 0 the event is written on every throttled round.
  double launchesThrottledUntil = 0;
  // The previous plan's ServicePlan::lastStuckEventAt: like the steady-state
  // event, "was unable to stop or start tasks during a deployment ..." is
  // written on entering the stuck state and then every kStuckReminderSeconds.
  double lastStuckEventAt = 0;
};

inline constexpr double kSteadyStateReminderSeconds = 6 * 3600;
inline constexpr double kStuckReminderSeconds = 3600;
inline constexpr double kMaxLaunchBackoffSeconds = 15 * 60;
inline constexpr std::size_t kMaxServiceEvents = 100;

// An EventBridge "ECS Service Action" / "ECS Deployment State Change" event to publish.
struct ServiceNotification {
  enum class Kind { kServiceAction, kDeploymentStateChange } kind = Kind::kServiceAction;
  std::string eventType;     // INFO | WARN | ERROR
  std::string eventName;     // SERVICE_STEADY_STATE, SERVICE_DEPLOYMENT_COMPLETED, ...
  std::string deploymentId;  // deployment events
  std::string reason;        // deployment events (e.g. the rolloutStateReason)
};

struct ServicePlan {
  // Tasks to start. REPLICA: `count` tasks placed by the service's strategies.
  // DAEMON: one task on each of `instanceIds`.
  struct Launch {
    std::string deploymentId;
    int count = 0;
    std::vector<std::string> instanceIds;
  };
  std::vector<Launch> launches;
  // Tasks to stop (desiredStatus STOPPED, stopCode ServiceSchedulerInitiated).
  struct Stop {
    std::string taskId;
    std::string reason;  // the stoppedReason
  };
  std::vector<Stop> stops;
  // The deployments after this round, newest first, with counts filled in.
  // Deployments that became INACTIVE are left out (ECS drops them from
  // DescribeServices); `lastCompleted` is the one to remember for rollback.
  std::vector<Deployment> deployments;
  std::optional<Deployment> lastCompleted;
  // Service totals (DescribeServices runningCount / pendingCount).
  int desiredCount = 0;  // DAEMON: the eligible instance count
  int runningCount = 0;
  int pendingCount = 0;
  // Messages for the service's events[], oldest first, in ECS wording
  // ("(service web) has reached a steady state."). Launch outcomes (started
  // tasks, placement failures) are worded by the controller with the helpers
  // below, since only the launch knows them.
  std::vector<std::string> events;
  std::vector<ServiceNotification> notifications;
  bool steadyState = false;           // one COMPLETED deployment, counts met, all healthy
  double lastSteadyStateEventAt = 0;  // updated when this plan writes the steady-state event
  // Launches are held back until this time (launch throttle); 0: not throttled.
  double launchesThrottledUntil = 0;
  // When the "unable to stop or start tasks" event was last written while the
  // rollout is stuck on its bounds; 0 when not stuck (feed back as input).
  double lastStuckEventAt = 0;
  // DELETE: the service is DRAINING and no task is left that is not STOPPED.
  bool drained = false;
};

ServicePlan planService(const ServiceInput& input);

// Circuit-breaker threshold: ceil(0.5 × desiredCount) clamped to [3, 200].
int circuitBreakerThreshold(int desiredCount);

// Event texts (bare 32-hex task ids; at most 10 ids are listed, the count is exact).
std::string startedTasksMessage(const std::string& service, const std::vector<std::string>& taskIds);
std::string stoppedTasksMessage(const std::string& service, const std::vector<std::string>& taskIds);
// "(service web) was unable to place a task because no container instance met
// all of its requirements. The closest matching (container-instance <id>) has
// insufficient CPU units available. For more information, see the
// Troubleshooting section." — `closestInstanceId`/`reason` from the placement
// rejections (RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, ...); an empty
// reason with no instances gives "... Reason: No Container Instances were found in your cluster."
std::string unableToPlaceMessage(const std::string& service, const std::string& closestInstanceId,
                                 const std::string& reason);

}  // namespace berth::scheduler

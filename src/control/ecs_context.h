#pragma once
// What every ECS operation needs: the durable store, the cache that indexes it,
// injected time and randomness, and the account/region that go into ARNs.
#include <string>

#include "common/clock.h"
#include "common/random.h"
#include "control/state_cache.h"
#include "store/store.h"

namespace berth::control {

class PlacementIndex;
class EventSink;

struct AccountInfo {
  std::string accountId = "000000000000";
  std::string region = "us-east-1";
  std::string partition = "aws";
};

struct EcsContext {
  store::Store& store;
  StateCache& cache;
  Clock& clock;
  Random& random;
  AccountInfo account;
  // The placement view of the cache (RunTask/StartTask); set by whoever builds the context.
  PlacementIndex* placement = nullptr;
  // Where EventBridge-shaped ECS events go (control/ecs_events.h); nullptr: nowhere.
  EventSink* events = nullptr;
  // The caller's identity for registeredBy fields (an IAM-style ARN).
  std::string callerArn() const { return "arn:" + account.partition + ":iam::" + account.accountId + ":root"; }
};

}  // namespace berth::control

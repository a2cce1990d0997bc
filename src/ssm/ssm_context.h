#pragma once
// What every Parameter Store operation needs: the ECS context (store, cache,
// clock, account) and the cipher that seals SecureString values.
#include "control/ecs_context.h"
#include "ssm/parameter_cipher.h"

namespace berth::ssm {

struct SsmContext {
  control::EcsContext& ecs;
  const ParameterCipher& cipher;
};

}  // namespace berth::ssm

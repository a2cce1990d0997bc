#pragma once
// Test fixture for Parameter Store operations: the control layer's EcsEnv
// (in-memory SQLite store, cache, FakeClock; account 123456789012, eu-west-3)
// plus a cipher over a fixed key. Header-only.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "control/testing/ecs_fixture.h"
#include "ssm/parameter_cipher.h"
#include "ssm/ssm_context.h"

namespace berth::ssm::test {

using control::test::mustOk;

class SsmFixture : public ::testing::Test {
 protected:
  SsmFixture()
      : env_(std::make_unique<control::test::EcsEnv>()),
        cipher_(std::move(ParameterCipher::fromKey(std::string(ParameterCipher::kKeyBytes, 'k')).value())),
        ctx_(SsmContext{*env_->ctx, *cipher_}) {}
  ~SsmFixture() override = default;

  SsmContext& ctx() { return ctx_; }
  control::test::EcsEnv& env() { return *env_; }

  // The error code of a call that must fail (kInternal + a test failure if it succeeded).
  template <typename T>
  static Error mustFail(Result<T> r) {
    if (r.ok()) {
      ADD_FAILURE() << "expected an error";
      return Error::make(ErrorCode::kInternal, "unexpected success");
    }
    return r.takeError();
  }

  std::unique_ptr<control::test::EcsEnv> env_;
  std::unique_ptr<ParameterCipher> cipher_;
  SsmContext ctx_;
};

}  // namespace berth::ssm::test

#include <gtest/gtest.h>

#include "registry/repository_ops.h"
#include "registry/testing/registry_fixture.h"

namespace berth::registry {
namespace {

using nlohmann::json;
using test::kAccount;
using test::mustOk;

class RepositoryPolicyOpsTest : public test::RegistryFixture {
 protected:
  void SetUp() override { createRepo("app"); }
};

const char* kPolicy =
    R"({"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":"*","Action":["ecr:BatchGetImage"]}]})";

const char* kLifecycle =
    R"({"rules":[{"rulePriority":1,"description":"expire untagged","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]})";

TEST_F(RepositoryPolicyOpsTest, RepositoryPolicyRoundTrip) {
  auto missing = getRepositoryPolicy(ctx(), {{"repositoryName", "app"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kRepositoryPolicyNotFound);
  EXPECT_EQ(missing.error().message,
            "Repository policy does not exist for the repository with name 'app' in the registry with id "
            "'123456789012'");

  auto set = mustOk(setRepositoryPolicy(ctx(), {{"repositoryName", "app"}, {"policyText", kPolicy}}));
  EXPECT_EQ(set, json({{"registryId", kAccount}, {"repositoryName", "app"}, {"policyText", kPolicy}}));
  EXPECT_EQ(mustOk(getRepositoryPolicy(ctx(), {{"repositoryName", "app"}}))["policyText"], kPolicy);
  EXPECT_EQ(mustOk(deleteRepositoryPolicy(ctx(), {{"repositoryName", "app"}}))["policyText"], kPolicy);
  auto again = deleteRepositoryPolicy(ctx(), {{"repositoryName", "app"}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kRepositoryPolicyNotFound);
}

TEST_F(RepositoryPolicyOpsTest, RepositoryPolicyMustBeAPolicyDocument) {
  for (const char* text : {"", "not json", "[]", R"({"Version":"2012-10-17"})"}) {
    auto r = setRepositoryPolicy(ctx(), {{"repositoryName", "app"}, {"policyText", text}});
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
    EXPECT_EQ(r.error().message,
              "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'");
  }
  auto missingRepo = setRepositoryPolicy(ctx(), {{"repositoryName", "nope"}, {"policyText", kPolicy}});
  ASSERT_FALSE(missingRepo.ok());
  EXPECT_EQ(missingRepo.error().code, ErrorCode::kRepositoryNotFound);
}

TEST_F(RepositoryPolicyOpsTest, LifecyclePolicyRoundTrip) {
  auto missing = getLifecyclePolicy(ctx(), {{"repositoryName", "app"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kLifecyclePolicyNotFound);
  EXPECT_EQ(missing.error().message,
            "Lifecycle policy does not exist for the repository with name 'app' in the registry with id "
            "'123456789012'");

  auto put = mustOk(putLifecyclePolicy(ctx(), {{"repositoryName", "app"}, {"lifecyclePolicyText", kLifecycle}}));
  EXPECT_EQ(put, json({{"registryId", kAccount}, {"repositoryName", "app"}, {"lifecyclePolicyText", kLifecycle}}));
  auto got = mustOk(getLifecyclePolicy(ctx(), {{"repositoryName", "app"}}));
  EXPECT_EQ(got["lifecyclePolicyText"], kLifecycle);
  EXPECT_FALSE(got.contains("lastEvaluatedAt"));  // never evaluated yet

  // The lifecycle run records when it last evaluated the policy.
  mustOk(mutateRepository(ctx(), {{"repositoryName", "app"}}, [](json& d) {
    d["lifecyclePolicyLastEvaluatedAt"] = 1700000100.0;
    return okStatus();
  }));
  EXPECT_EQ(mustOk(getLifecyclePolicy(ctx(), {{"repositoryName", "app"}}))["lastEvaluatedAt"], 1700000100.0);

  auto deleted = mustOk(deleteLifecyclePolicy(ctx(), {{"repositoryName", "app"}}));
  EXPECT_EQ(deleted["lifecyclePolicyText"], kLifecycle);
  EXPECT_EQ(deleted["lastEvaluatedAt"], 1700000100.0);
  auto again = deleteLifecyclePolicy(ctx(), {{"repositoryName", "app"}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kLifecyclePolicyNotFound);
  EXPECT_FALSE(mustOk(findRepository(ctx(), "app")).contains("lifecyclePolicyLastEvaluatedAt"));
}

TEST_F(RepositoryPolicyOpsTest, LifecyclePolicyIsValidated) {
  auto r = putLifecyclePolicy(ctx(), {{"repositoryName", "app"}, {"lifecyclePolicyText", R"({"rules":[]})"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(r.error().message.rfind("Invalid parameter at 'LifecyclePolicyText'", 0), 0u) << r.error().message;
  EXPECT_FALSE(mustOk(findRepository(ctx(), "app")).contains("lifecyclePolicyText"));
}

}  // namespace
}  // namespace berth::registry

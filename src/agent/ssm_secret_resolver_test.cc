#include "agent/ssm_secret_resolver.h"

#include <gtest/gtest.h>

#include <map>

namespace berth::agent {
namespace {

using nlohmann::json;

// A Parameter Store that answers GetParameters from a map, as the server does:
// "x" and "/x" are one parameter, unknown names go to InvalidParameters.
class FakeSsm : public SsmParameterSource {
 public:
  std::map<std::string, std::string> params;  // stored name → value
  std::vector<json> calls;
  std::optional<Error> failWith;

  Result<json> getParameters(const json& body) override {
    calls.push_back(body);
    if (failWith) return *failWith;
    json out = {{"Parameters", json::array()}, {"InvalidParameters", json::array()}};
    for (const auto& n : body["Names"]) {
      std::string name = n.get<std::string>();
      auto it = params.find(name);
      if (it == params.end() && name.starts_with("/")) it = params.find(name.substr(1));
      if (it == params.end()) {
        out["InvalidParameters"].push_back(name);
        continue;
      }
      out["Parameters"].push_back({{"Name", it->first}, {"Value", it->second}, {"Type", "SecureString"}});
    }
    return out;
  }
};

class SsmSecretResolverTest : public ::testing::Test {
 protected:
  FakeSsm ssm;
  SsmSecretResolver resolver{ssm, "eu-west-3"};
  TaskPlan task;
};

TEST_F(SsmSecretResolverTest, ResolvesNamesAndArnsInOrder) {
  ssm.params = {{"db-pass", "s3cret"}, {"/app/api/key", "k3y"}, {"plain", "p"}};
  auto r = resolver.resolve({{"DB_PASSWORD", "db-pass"},
                             {"API_KEY", "arn:aws:ssm:eu-west-3:123456789012:parameter/app/api/key"},
                             {"PLAIN", "arn:aws:ssm:eu-west-3:123456789012:parameter/plain"},
                             {"AGAIN", "db-pass"}},
                            task);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<std::pair<std::string, std::string>> want = {
      {"DB_PASSWORD", "s3cret"}, {"API_KEY", "k3y"}, {"PLAIN", "p"}, {"AGAIN", "s3cret"}};
  EXPECT_EQ(*r, want);
  ASSERT_EQ(ssm.calls.size(), 1u);
  EXPECT_EQ(ssm.calls[0]["Names"], (json{"db-pass", "/app/api/key", "plain"}));  // each name once
  EXPECT_EQ(ssm.calls[0]["WithDecryption"], true);
}

TEST_F(SsmSecretResolverTest, BatchesTenNamesPerCall) {
  std::vector<ContainerSecret> secrets;
  for (int i = 0; i < 23; ++i) {
    ssm.params["p" + std::to_string(i)] = "v" + std::to_string(i);
    secrets.push_back({"E" + std::to_string(i), "p" + std::to_string(i)});
  }
  auto r = resolver.resolve(secrets, task);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(ssm.calls.size(), 3u);
  EXPECT_EQ(ssm.calls[0]["Names"].size(), 10u);
  EXPECT_EQ(ssm.calls[2]["Names"].size(), 3u);
  EXPECT_EQ((*r)[22], (std::pair<std::string, std::string>{"E22", "v22"}));
}

TEST_F(SsmSecretResolverTest, MissingParametersFailWithEcsWordingAndNoValues) {
  ssm.params = {{"present", "TOP-SECRET-VALUE"}};
  auto r = resolver.resolve({{"A", "present"}, {"B", "/missing/one"}, {"C", "gone"}}, task);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(r.error().message,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval "
            "failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm "
            "parameters: /missing/one,gone");
  EXPECT_EQ(r.error().message.find("TOP-SECRET"), std::string::npos);
}

TEST_F(SsmSecretResolverTest, SecretsManagerIsNotSupported) {
  auto r = resolver.resolve({{"A", "arn:aws:secretsmanager:eu-west-3:123456789012:secret:db-AbCdEf"}}, task);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not supported by Berth"), std::string::npos);
  EXPECT_TRUE(ssm.calls.empty());
}

TEST_F(SsmSecretResolverTest, RefusesOtherRegionsAndOtherServices) {
  EXPECT_FALSE(resolver.resolve({{"A", "arn:aws:ssm:us-east-1:123456789012:parameter/x"}}, task).ok());
  EXPECT_FALSE(resolver.resolve({{"A", "arn:aws:s3:::bucket/key"}}, task).ok());
  EXPECT_FALSE(resolver.resolve({{"A", ""}}, task).ok());
  EXPECT_TRUE(ssm.calls.empty());
}

TEST_F(SsmSecretResolverTest, ServerFailureNamesTheCallNotTheValues) {
  ssm.failWith = Error::make(ErrorCode::kUnavailable, "connection refused", "");
  auto r = resolver.resolve({{"A", "x"}}, task);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
  EXPECT_TRUE(r.error().message.starts_with("ResourceInitializationError: unable to pull secrets or registry auth"));
  EXPECT_NE(r.error().message.find("connection refused"), std::string::npos);
}

TEST_F(SsmSecretResolverTest, NoSecretsMeansNoCall) {
  auto r = resolver.resolve({}, task);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_TRUE(ssm.calls.empty());
}

TEST(SsmNameForValueFrom, ArnToName) {
  EXPECT_EQ(ssmNameForValueFrom("arn:aws:ssm:r1:1:parameter/x", "r1").value(), "x");
  EXPECT_EQ(ssmNameForValueFrom("arn:aws:ssm:r1:1:parameter/a/b/c", "r1").value(), "/a/b/c");
  EXPECT_EQ(ssmNameForValueFrom("/a/b", "r1").value(), "/a/b");
  EXPECT_EQ(ssmNameForValueFrom("arn:aws:ssm:r1:1:parameter/x:3", "r1").value(), "x:3");
  EXPECT_FALSE(ssmNameForValueFrom("arn:aws:ssm:r1:1:parameter/", "r1").ok());
}

}  // namespace
}  // namespace berth::agent

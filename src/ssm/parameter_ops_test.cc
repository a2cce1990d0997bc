#include "ssm/parameter_ops.h"

#include <gtest/gtest.h>

#include "ssm/keys.h"
#include "ssm/testing/ssm_fixture.h"

namespace berth::ssm {
namespace {

using nlohmann::json;
using control::test::mustOk;

class ParameterOpsTest : public test::SsmFixture {
 protected:
  json put(json req) { return mustOk(putParameter(ctx(), req), "PutParameter"); }
  json get(const std::string& name, bool decrypt = false) {
    return mustOk(getParameter(ctx(), {{"Name", name}, {"WithDecryption", decrypt}}), "GetParameter")["Parameter"];
  }
};

TEST_F(ParameterOpsTest, CreateThenGet) {
  EXPECT_EQ(put({{"Name", "/app/db/host"}, {"Value", "db.local"}, {"Type", "String"}}),
            (json{{"Version", 1}, {"Tier", "Standard"}}));
  json p = get("/app/db/host");
  EXPECT_EQ(p["Name"], "/app/db/host");
  EXPECT_EQ(p["Value"], "db.local");
  EXPECT_EQ(p["Type"], "String");
  EXPECT_EQ(p["Version"], 1);
  EXPECT_EQ(p["DataType"], "text");
  EXPECT_EQ(p["ARN"], "arn:aws:ssm:eu-west-3:123456789012:parameter/app/db/host");
  EXPECT_TRUE(p["LastModifiedDate"].is_number());
}

TEST_F(ParameterOpsTest, ExistingNameNeedsOverwrite) {
  put({{"Name", "x"}, {"Value", "1"}, {"Type", "String"}});
  auto e = mustFail(putParameter(ctx(), {{"Name", "x"}, {"Value", "2"}, {"Type", "String"}}));
  EXPECT_EQ(e.code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(e.message,
            "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.");
  // "/x" is the same parameter as "x".
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "/x"}, {"Value", "2"}, {"Type", "String"}})).code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(get("x")["Value"], "1");
}

TEST_F(ParameterOpsTest, OverwriteBumpsVersionAndKeepsHistory) {
  put({{"Name", "x"}, {"Value", "1"}, {"Type", "String"}, {"Description", "first"}});
  EXPECT_EQ(put({{"Name", "x"}, {"Value", "2"}, {"Overwrite", true}})["Version"], 2);  // Type inherited
  EXPECT_EQ(put({{"Name", "x"}, {"Value", "a,b"}, {"Type", "StringList"}, {"Overwrite", true}})["Version"], 3);
  EXPECT_EQ(get("x")["Value"], "a,b");
  EXPECT_EQ(get("x")["Type"], "StringList");
  EXPECT_EQ(get("x:1")["Value"], "1");
  EXPECT_EQ(get("x:1")["Selector"], ":1");
  EXPECT_EQ(get("x:2")["Value"], "2");
  auto e = mustFail(getParameter(ctx(), {{"Name", "x:9"}}));
  EXPECT_EQ(e.code, ErrorCode::kParameterVersionNotFound);
  EXPECT_EQ(e.message, "Systems Manager could not find version 9 of x. Verify the version and try again.");
  json history = mustOk(getParameterHistory(ctx(), {{"Name", "x"}}))["Parameters"];
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]["Value"], "1");
  EXPECT_EQ(history[1]["Description"], "first");  // kept when an overwrite does not say
  EXPECT_EQ(history[2]["Version"], 3);
}

TEST_F(ParameterOpsTest, KeepsTheLatestHundredVersions) {
  put({{"Name", "v"}, {"Value", "1"}, {"Type", "String"}});
  for (int i = 2; i <= 105; ++i) put({{"Name", "v"}, {"Value", std::to_string(i)}, {"Overwrite", true}});
  EXPECT_EQ(get("v")["Version"], 105);
  EXPECT_EQ(mustFail(getParameter(ctx(), {{"Name", "v:5"}})).code, ErrorCode::kParameterVersionNotFound);
  EXPECT_EQ(get("v:6")["Value"], "6");
  json page = mustOk(getParameterHistory(ctx(), {{"Name", "v"}, {"MaxResults", 50}}));
  EXPECT_EQ(page["Parameters"].size(), 50u);
  ASSERT_TRUE(page.contains("NextToken"));
  json rest = mustOk(getParameterHistory(ctx(), {{"Name", "v"}, {"MaxResults", 50}, {"NextToken", page["NextToken"]}}));
  EXPECT_EQ(rest["Parameters"].size(), 50u);
  EXPECT_FALSE(rest.contains("NextToken"));
  EXPECT_EQ(page["Parameters"][0]["Version"], 6);
  EXPECT_EQ(rest["Parameters"][49]["Version"], 105);
}

TEST_F(ParameterOpsTest, SecureStringIsEncryptedAtRest) {
  put({{"Name", "/app/secret"}, {"Value", "hunter2-plaintext"}, {"Type", "SecureString"}});
  auto stored = env().store->get(keys::parameter("/app/secret")).value();
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->value.find("hunter2"), std::string::npos) << "plaintext in the stored document";
  json decrypted = get("/app/secret", true);
  EXPECT_EQ(decrypted["Value"], "hunter2-plaintext");
  json sealed = get("/app/secret", false);
  EXPECT_NE(sealed["Value"], "hunter2-plaintext");
  EXPECT_EQ(sealed["Value"], json::parse(stored->value)["versions"][0]["Ciphertext"]);
  json meta = renderMetadata(json::parse(stored->value));
  EXPECT_EQ(meta["KeyId"], "alias/aws/ssm");
  EXPECT_FALSE(meta.contains("Value"));
  // A second version is sealed too, and the history never shows plaintext without decryption.
  put({{"Name", "/app/secret"}, {"Value", "second-plaintext"}, {"Overwrite", true}});
  stored = env().store->get(keys::parameter("/app/secret")).value();
  EXPECT_EQ(stored->value.find("second-plaintext"), std::string::npos);
  json history = mustOk(getParameterHistory(ctx(), {{"Name", "/app/secret"}}));
  EXPECT_EQ(history.dump().find("plaintext"), std::string::npos);
}

TEST_F(ParameterOpsTest, CreateValidation) {
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "x"}, {"Value", "1"}})).message,
            "A parameter type is required when you create a parameter.");
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "awsX"}, {"Value", "1"}, {"Type", "String"}})).code,
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "x"}, {"Value", ""}, {"Type", "String"}})).code,
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "x"}, {"Value", "1"}, {"Type", "String"}, {"KeyId", "alias/k"}})).code,
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "x"}, {"Value", "1"}, {"Type", "String"}, {"DataType", "Text"}})).code,
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "x"}, {"Value", "1"}, {"Type", "String"}, {"Overwrite", true},
                                          {"Tags", {{{"Key", "a"}, {"Value", "b"}}}}}))
                .code,
            ErrorCode::kInvalidParameter);
  std::string deep;
  for (int i = 0; i < 16; ++i) deep += "/l";
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", deep}, {"Value", "1"}, {"Type", "String"}})).code,
            ErrorCode::kHierarchyLevelLimitExceeded);
}

TEST_F(ParameterOpsTest, AllowedPatternAppliesToLaterVersions) {
  put({{"Name", "port"}, {"Value", "8080"}, {"Type", "String"}, {"AllowedPattern", "^\\d+$"}});
  auto e = mustFail(putParameter(ctx(), {{"Name", "port"}, {"Value", "http"}, {"Overwrite", true}}));
  EXPECT_EQ(e.code, ErrorCode::kParameterPatternMismatch);
  EXPECT_EQ(e.message, "Parameter value, cannot be validated against allowedPattern: ^\\d+$");
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "p2"}, {"Value", "1"}, {"Type", "String"}, {"AllowedPattern", "("}})).context,
            "InvalidAllowedPatternException");
}

TEST_F(ParameterOpsTest, TierLimits) {
  std::string big(5000, 'v');
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "big"}, {"Value", big}, {"Type", "String"}})).code,
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(put({{"Name", "big"}, {"Value", big}, {"Type", "String"}, {"Tier", "Intelligent-Tiering"}})["Tier"], "Advanced");
  EXPECT_EQ(put({{"Name", "big"}, {"Value", "small"}, {"Overwrite", true}})["Tier"], "Advanced");
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "big"}, {"Value", "s"}, {"Tier", "Standard"}, {"Overwrite", true}})).code,
            ErrorCode::kInvalidParameter);
  EXPECT_EQ(mustFail(putParameter(ctx(), {{"Name", "huge"}, {"Value", std::string(9000, 'v')}, {"Type", "String"},
                                          {"Tier", "Advanced"}}))
                .code,
            ErrorCode::kInvalidParameter);
}

TEST_F(ParameterOpsTest, GetParametersListsMissingNamesWithoutFailing) {
  put({{"Name", "a"}, {"Value", "1"}, {"Type", "String"}});
  put({{"Name", "/p/b"}, {"Value", "2"}, {"Type", "SecureString"}});
  json r = mustOk(getParameters(ctx(), {{"Names", {"a", "/p/b", "nope", "a:7", "arn:aws:ssm:eu-west-3:123456789012:parameter/p/b", "a"}},
                                        {"WithDecryption", true}}));
  ASSERT_EQ(r["Parameters"].size(), 3u);
  EXPECT_EQ(r["Parameters"][0]["Value"], "1");
  EXPECT_EQ(r["Parameters"][1]["Value"], "2");
  EXPECT_EQ(r["Parameters"][2]["Name"], "/p/b");  // by ARN
  EXPECT_EQ(r["InvalidParameters"], (json{"nope", "a:7"}));
}

TEST_F(ParameterOpsTest, GetByArnAndSlashForm) {
  put({{"Name", "top"}, {"Value", "t"}, {"Type", "String"}});
  EXPECT_EQ(get("/top")["Name"], "top");
  EXPECT_EQ(get("arn:aws:ssm:eu-west-3:123456789012:parameter/top")["Value"], "t");
  auto e = mustFail(getParameter(ctx(), {{"Name", "arn:aws:ssm:us-east-1:123456789012:parameter/top"}}));
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
}

TEST_F(ParameterOpsTest, Delete) {
  put({{"Name", "d"}, {"Value", "1"}, {"Type", "String"}});
  EXPECT_EQ(mustOk(deleteParameter(ctx(), {{"Name", "d"}})), json::object());
  auto e = mustFail(getParameter(ctx(), {{"Name", "d"}}));
  EXPECT_EQ(e.code, ErrorCode::kNotFound);
  EXPECT_EQ(mustFail(deleteParameter(ctx(), {{"Name", "d"}})).code, ErrorCode::kNotFound);
  // Re-creating starts again at version 1.
  EXPECT_EQ(put({{"Name", "d"}, {"Value", "1"}, {"Type", "String"}})["Version"], 1);
  put({{"Name", "e"}, {"Value", "1"}, {"Type", "String"}});
  json r = mustOk(deleteParameters(ctx(), {{"Names", {"d", "e", "missing"}}}));
  EXPECT_EQ(r["DeletedParameters"], (json{"d", "e"}));
  EXPECT_EQ(r["InvalidParameters"], (json{"missing"}));
  EXPECT_EQ(mustOk(getParameters(ctx(), {{"Names", {"d", "e"}}}))["InvalidParameters"].size(), 2u);
}

}  // namespace
}  // namespace berth::ssm

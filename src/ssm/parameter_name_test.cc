#include "ssm/parameter_name.h"

#include <gtest/gtest.h>

namespace berth::ssm {
namespace {

const control::AccountInfo kAccount{"123456789012", "eu-west-3", "aws"};

TEST(ParameterName, AcceptsPlainAndHierarchicalNames) {
  EXPECT_TRUE(validateNewParameterName("db-password_1.x").ok());
  EXPECT_TRUE(validateNewParameterName("/Dev/DBServer/MySQL/db-string13").ok());
  EXPECT_TRUE(validateNewParameterName("/x").ok());
}

TEST(ParameterName, RefusesBadCharactersAndNotFullyQualifiedPaths) {
  for (const char* bad : {"has space", "semi;colon", "/trailing/", "/a//b", "über"}) {
    auto s = validateNewParameterName(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.error().code, ErrorCode::kInvalidParameter) << bad;
  }
  auto s = validateNewParameterName("a/b");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "Parameter name must be a fully qualified name.");
}

TEST(ParameterName, RefusesAwsAndSsmPrefixesCaseInsensitively) {
  auto plain = validateNewParameterName("awsTestParameter");
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().message, "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).");
  EXPECT_FALSE(validateNewParameterName("SSM-testparameter").ok());
  auto path = validateNewParameterName("/aws/testparam1");
  ASSERT_FALSE(path.ok());
  EXPECT_TRUE(path.error().message.starts_with("Parameter name: can't be prefixed with \"ssm\" (case-insensitive). If formed as a path"));
  EXPECT_TRUE(validateNewParameterName("/myaws/x").ok());  // only a prefix counts
}

TEST(ParameterName, AllowsFifteenLevelsAndNotSixteen) {
  std::string name;
  for (int i = 1; i <= 15; ++i) name += "/l" + std::to_string(i);
  EXPECT_TRUE(validateNewParameterName(name).ok());
  auto s = validateNewParameterName(name + "/l16");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, ErrorCode::kHierarchyLevelLimitExceeded);
}

TEST(ParameterName, TopLevelNameWithAndWithoutSlashIsOneParameter) {
  EXPECT_EQ(canonicalName("/x"), "x");
  EXPECT_EQ(canonicalName("x"), "x");
  EXPECT_EQ(canonicalName("/a/b"), "/a/b");
}

TEST(ParameterName, ArnHasNoDoubleSlash) {
  EXPECT_EQ(parameterArn(kAccount, "x"), "arn:aws:ssm:eu-west-3:123456789012:parameter/x");
  EXPECT_EQ(parameterArn(kAccount, "/a/b"), "arn:aws:ssm:eu-west-3:123456789012:parameter/a/b");
}

TEST(ParameterName, ParsesNamesArnsAndSelectors) {
  auto v = parseParameterRef("/a/b:3", kAccount);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->name, "/a/b");
  EXPECT_EQ(v->version, 3);
  EXPECT_EQ(v->selector, ":3");
  auto l = parseParameterRef("x:prod", kAccount);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->label, "prod");
  auto arn = parseParameterRef("arn:aws:ssm:eu-west-3:123456789012:parameter/a/b", kAccount);
  ASSERT_TRUE(arn);
  EXPECT_EQ(arn->name, "/a/b");
  auto top = parseParameterRef("arn:aws:ssm:eu-west-3:123456789012:parameter/x:2", kAccount);
  ASSERT_TRUE(top);
  EXPECT_EQ(top->name, "x");
  EXPECT_EQ(top->version, 2);
  EXPECT_FALSE(parseParameterRef("arn:aws:ssm:us-east-1:123456789012:parameter/x", kAccount));  // other region
  EXPECT_FALSE(parseParameterRef("arn:aws:ssm:eu-west-3:999999999999:parameter/x", kAccount));  // other account
  EXPECT_FALSE(parseParameterRef("x:", kAccount));
  EXPECT_FALSE(parseParameterRef("bad name", kAccount));
}

TEST(ParameterName, PathsAndMembership) {
  EXPECT_EQ(normalizePath("/a/b").value(), "/a/b/");
  EXPECT_EQ(normalizePath("/a/b/").value(), "/a/b/");
  EXPECT_EQ(normalizePath("/").value(), "/");
  EXPECT_FALSE(normalizePath("a/b").ok());
  EXPECT_TRUE(isUnderPath("/a/b/c", "/a/b/", false));
  EXPECT_FALSE(isUnderPath("/a/b/c/d", "/a/b/", false));
  EXPECT_TRUE(isUnderPath("/a/b/c/d", "/a/b/", true));
  EXPECT_FALSE(isUnderPath("/a/bc", "/a/b/", true));
  EXPECT_TRUE(isUnderPath("x", "/", false));  // "x" is "/x"
  EXPECT_FALSE(isUnderPath("/a/b", "/", false));
}

}  // namespace
}  // namespace berth::ssm

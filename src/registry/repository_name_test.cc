#include "registry/repository_name.h"

#include <gtest/gtest.h>

namespace berth::registry {
namespace {

TEST(RepositoryName, AcceptsEcrAndOciGrammar) {
  for (const char* name : {"ab", "my-app", "team/app", "a.b_c-d", "a__b", "a---b", "x/y/z9", "0a"})
    EXPECT_TRUE(isValidRepositoryName(name)) << name;
}

TEST(RepositoryName, RefusesWhatEcrRefuses) {
  for (const char* name : {"a", "", "My-App", "app/", "/app", "a//b", "-app", "app-", "a..b", "a___b", "a._b",
                           "a b", "a@b", "a:b"})
    EXPECT_FALSE(isValidRepositoryName(name)) << name;
  EXPECT_TRUE(isValidRepositoryName(std::string(256, 'a')));
  EXPECT_FALSE(isValidRepositoryName(std::string(257, 'a')));
}

TEST(ImageTag, FollowsTheOciGrammar) {
  for (const char* tag : {"latest", "v1.2.3", "_x", "A-b_c.d", "0"}) EXPECT_TRUE(isValidTag(tag)) << tag;
  for (const char* tag : {"", ".x", "-x", "a:b", "a/b", "a@b"}) EXPECT_FALSE(isValidTag(tag)) << tag;
  EXPECT_TRUE(isValidTag(std::string(128, 'a')));
  EXPECT_FALSE(isValidTag(std::string(129, 'a')));
}

TEST(RepositoryName, ArnAndHost) {
  control::AccountInfo account{"123456789012", "eu-west-3", "aws"};
  EXPECT_EQ(registryHost(account), "123456789012.dkr.ecr.eu-west-3.amazonaws.com");
  EXPECT_EQ(repositoryArn(account, "team/app"), "arn:aws:ecr:eu-west-3:123456789012:repository/team/app");
  EXPECT_EQ(invalidRepositoryNameMessage(),
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression "
            "'[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*)*''");
}

}  // namespace
}  // namespace berth::registry

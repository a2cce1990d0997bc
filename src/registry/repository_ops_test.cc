#include "registry/repository_ops.h"

#include <gtest/gtest.h>

#include "registry/keys.h"
#include "registry/testing/interposing_store.h"
#include "registry/testing/registry_fixture.h"

namespace berth::registry {
namespace {

using nlohmann::json;
using test::kAccount;
using test::mustOk;

class RepositoryOpsTest : public test::RegistryFixture {};

TEST_F(RepositoryOpsTest, CreateAppliesEcrDefaults) {
  auto r = mustOk(createRepository(ctx(), {{"repositoryName", "team/app"}}));
  const json& repo = r["repository"];
  EXPECT_EQ(repo["repositoryName"], "team/app");
  EXPECT_EQ(repo["registryId"], kAccount);
  EXPECT_EQ(repo["repositoryArn"], "arn:aws:ecr:eu-west-3:123456789012:repository/team/app");
  EXPECT_EQ(repo["repositoryUri"], "123456789012.dkr.ecr.eu-west-3.amazonaws.com/team/app");
  EXPECT_EQ(repo["imageTagMutability"], "MUTABLE");
  EXPECT_EQ(repo["imageScanningConfiguration"], json({{"scanOnPush", false}}));
  EXPECT_EQ(repo["encryptionConfiguration"], json({{"encryptionType", "AES256"}}));
  EXPECT_DOUBLE_EQ(repo["createdAt"].get<double>(), clock().epochSeconds());
  EXPECT_FALSE(repo.contains("tags"));  // not part of the Repository shape
}

TEST_F(RepositoryOpsTest, CreateWithSettingsAndTags) {
  auto r = mustOk(createRepository(ctx(), {{"repositoryName", "app"},
                                           {"imageTagMutability", "IMMUTABLE"},
                                           {"imageScanningConfiguration", {{"scanOnPush", true}}},
                                           {"encryptionConfiguration", {{"encryptionType", "KMS"}}},
                                           {"tags", {{{"Key", "team"}, {"Value", "core"}}}}}));
  EXPECT_EQ(r["repository"]["imageTagMutability"], "IMMUTABLE");
  EXPECT_EQ(r["repository"]["imageScanningConfiguration"]["scanOnPush"], true);
  EXPECT_EQ(r["repository"]["encryptionConfiguration"]["encryptionType"], "KMS");
  EXPECT_EQ(r["repository"]["encryptionConfiguration"]["kmsKey"], "arn:aws:kms:eu-west-3:123456789012:alias/aws/ecr");
  auto tags = mustOk(listTagsForResource(ctx(), {{"resourceArn", r["repository"]["repositoryArn"]}}));
  EXPECT_EQ(tags["tags"], json::parse(R"([{"Key":"team","Value":"core"}])"));
}

TEST_F(RepositoryOpsTest, CreateRefusesBadInput) {
  auto bad = createRepository(ctx(), {{"repositoryName", "My_App"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(bad.error().message, invalidRepositoryNameMessage());

  auto mutability = createRepository(ctx(), {{"repositoryName", "app"}, {"imageTagMutability", "SOMETIMES"}});
  ASSERT_FALSE(mutability.ok());
  EXPECT_EQ(mutability.error().code, ErrorCode::kInvalidParameter);

  auto aesWithKey = createRepository(
      ctx(), {{"repositoryName", "app"}, {"encryptionConfiguration", {{"encryptionType", "AES256"}, {"kmsKey", "k"}}}});
  ASSERT_FALSE(aesWithKey.ok());
  EXPECT_EQ(aesWithKey.error().code, ErrorCode::kInvalidParameter);

  auto reserved = createRepository(ctx(), {{"repositoryName", "app"}, {"tags", {{{"Key", "aws:x"}, {"Value", "y"}}}}});
  ASSERT_FALSE(reserved.ok());
  EXPECT_EQ(reserved.error().code, ErrorCode::kInvalidTagParameter);

  auto foreign = createRepository(ctx(), {{"repositoryName", "app"}, {"registryId", "999999999999"}});
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, ErrorCode::kRepositoryNotFound);
  auto malformed = createRepository(ctx(), {{"repositoryName", "app"}, {"registryId", "12"}});
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, ErrorCode::kInvalidParameter);

  EXPECT_FALSE(cache().get(keys::repo("app")));
}

TEST_F(RepositoryOpsTest, CreateTwiceIsAlreadyExists) {
  createRepo("app");
  auto again = createRepository(ctx(), {{"repositoryName", "app"}});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kRepositoryAlreadyExists);
  EXPECT_EQ(again.error().message,
            "The repository with name 'app' already exists in the registry with id '123456789012'");
}

TEST_F(RepositoryOpsTest, DescribeNamedAndMissing) {
  createRepo("app");
  createRepo("team/web");
  auto named = mustOk(describeRepositories(ctx(), {{"repositoryNames", {"team/web", "app", "app"}}}));
  ASSERT_EQ(named["repositories"].size(), 2u);
  EXPECT_EQ(named["repositories"][0]["repositoryName"], "team/web");
  EXPECT_EQ(named["repositories"][1]["repositoryName"], "app");

  auto missing = describeRepositories(ctx(), {{"repositoryNames", {"app", "nope"}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kRepositoryNotFound);
  EXPECT_EQ(missing.error().message,
            "The repository with name 'nope' does not exist in the registry with id '123456789012'");

  auto mixed = describeRepositories(ctx(), {{"repositoryNames", {"app"}}, {"maxResults", 1}});
  ASSERT_FALSE(mixed.ok());
  EXPECT_EQ(mixed.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(RepositoryOpsTest, DescribeAllPaginates) {
  for (const char* name : {"c1", "a1", "b1", "b1/x", "d1"}) createRepo(name);
  std::vector<std::string> seen;
  json request = {{"maxResults", 2}};
  int pages = 0;
  while (true) {
    auto page = mustOk(describeRepositories(ctx(), request));
    ++pages;
    for (const auto& r : page["repositories"]) seen.push_back(r["repositoryName"]);
    if (!page.contains("nextToken")) break;
    request["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"a1", "b1", "b1/x", "c1", "d1"}));

  auto bad = describeRepositories(ctx(), {{"nextToken", "garbage"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);
  auto tooMany = describeRepositories(ctx(), {{"maxResults", 1001}});
  ASSERT_FALSE(tooMany.ok());
}

TEST_F(RepositoryOpsTest, DeleteRefusesNonEmptyWithoutForce) {
  createRepo("app");
  std::string digest = pushImage("app", "v1", "one");
  auto refused = deleteRepository(ctx(), {{"repositoryName", "app"}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kRepositoryNotEmpty);
  EXPECT_EQ(refused.error().message,
            "The repository with name 'app' in registry with id '123456789012' cannot be deleted because it still "
            "contains images");
  EXPECT_TRUE(cache().get(keys::image("app", digest)));
}

TEST_F(RepositoryOpsTest, ForceDeleteRemovesEverythingTheRepositoryOwns) {
  createRepo("app");
  createRepo("app2");  // a sibling whose keys share the "app" prefix must survive
  std::string digest = pushImage("app", "v1", "one");
  std::string other = pushImage("app2", "v1", "two");
  linked("app", "an abandoned upload");
  env_->putDoc(keys::preview("app"), {{"status", "COMPLETE"}});

  auto r = mustOk(deleteRepository(ctx(), {{"repositoryName", "app"}, {"force", true}}));
  EXPECT_EQ(r["repository"]["repositoryName"], "app");
  EXPECT_FALSE(cache().get(keys::repo("app")));
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("app")), 0u);
  EXPECT_EQ(cache().countPrefix(keys::tagsOf("app")), 0u);
  EXPECT_EQ(cache().countPrefix(keys::linksOf("app")), 0u);
  EXPECT_FALSE(cache().get(keys::preview("app")));
  EXPECT_TRUE(cache().get(keys::image("app2", other)));
  EXPECT_EQ(cache().countPrefix(keys::linksOf("app2")), 2u);

  auto gone = deleteRepository(ctx(), {{"repositoryName", "app"}});
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error().code, ErrorCode::kRepositoryNotFound);

  // A new repository of the same name starts empty.
  createRepo("app");
  auto missing = getManifest(ctx(), "app", digest);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kImageNotFound);
}

TEST_F(RepositoryOpsTest, CreateClearsWhatAVanishedRepositoryLeftBehind) {
  // As if a push had raced a DeleteRepository and the sweep had not run.
  env_->putDoc(keys::tag("app", "v1"), {{"imageDigest", "sha256:" + std::string(64, 'a')}});
  createRepo("app");
  EXPECT_EQ(mustOk(listTags(ctx(), "app")).size(), 0u);
}

TEST_F(RepositoryOpsTest, PutImageTagMutabilityAndScanning) {
  createRepo("app");
  auto m = mustOk(putImageTagMutability(ctx(), {{"repositoryName", "app"}, {"imageTagMutability", "IMMUTABLE"}}));
  EXPECT_EQ(m, json({{"registryId", kAccount}, {"repositoryName", "app"}, {"imageTagMutability", "IMMUTABLE"}}));
  EXPECT_EQ(mustOk(findRepository(ctx(), "app"))["imageTagMutability"], "IMMUTABLE");

  auto bad = putImageTagMutability(ctx(), {{"repositoryName", "app"}, {"imageTagMutability", "immutable"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);

  auto s = mustOk(putImageScanningConfiguration(
      ctx(), {{"repositoryName", "app"}, {"imageScanningConfiguration", {{"scanOnPush", true}}}}));
  EXPECT_EQ(s["imageScanningConfiguration"]["scanOnPush"], true);
  auto described = mustOk(describeRepositories(ctx(), {{"repositoryNames", {"app"}}}));
  EXPECT_EQ(described["repositories"][0]["imageScanningConfiguration"]["scanOnPush"], true);

  auto missing = putImageTagMutability(ctx(), {{"repositoryName", "nope"}, {"imageTagMutability", "MUTABLE"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kRepositoryNotFound);
}

TEST_F(RepositoryOpsTest, TagUntagList) {
  auto repo = createRepo("app");
  const std::string arn = repo["repository"]["repositoryArn"];
  mustOk(tagResource(ctx(), {{"resourceArn", arn}, {"tags", {{{"Key", "a"}, {"Value", "1"}}, {{"Key", "b"}, {"Value", "2"}}}}}));
  mustOk(tagResource(ctx(), {{"resourceArn", arn}, {"tags", {{{"Key", "a"}, {"Value", "3"}}}}}));
  mustOk(untagResource(ctx(), {{"resourceArn", arn}, {"tagKeys", {"b", "unknown"}}}));
  auto tags = mustOk(listTagsForResource(ctx(), {{"resourceArn", arn}}));
  EXPECT_EQ(tags["tags"], json::parse(R"([{"Key":"a","Value":"3"}])"));

  auto badArn = tagResource(ctx(), {{"resourceArn", "arn:aws:ecs:eu-west-3:123456789012:cluster/x"}, {"tags", json::array()}});
  ASSERT_FALSE(badArn.ok());
  EXPECT_EQ(badArn.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(badArn.error().message, "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'");

  auto unknown = listTagsForResource(ctx(), {{"resourceArn", "arn:aws:ecr:eu-west-3:123456789012:repository/nope"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kRepositoryNotFound);

  json many = json::array();
  for (int i = 0; i < 50; ++i) many.push_back({{"Key", "k" + std::to_string(i)}, {"Value", ""}});
  auto tooMany = tagResource(ctx(), {{"resourceArn", arn}, {"tags", many}});
  ASSERT_FALSE(tooMany.ok());
  EXPECT_EQ(tooMany.error().code, ErrorCode::kTooManyTags);
  EXPECT_EQ(mustOk(listTagsForResource(ctx(), {{"resourceArn", arn}}))["tags"].size(), 1u);
}

TEST_F(RepositoryOpsTest, DeleteSweepsWhatAPushCommittedAfterItLooked) {
  createRepo("app");
  std::string body = imageBody("app", "one");
  // DeleteRepository reads an empty repository; before it commits, a push
  // lands. The push compared only on the repository document, which the
  // delete had not changed yet, so both commit; the sweep that follows the
  // delete removes what the push left.
  test::InterposingStore racing(store());
  control::EcsContext deleter{racing, cache(), clock(), env_->random, ctx().account};
  racing.beforeNextTxn([&] { mustOk(put("app", "v1", body)); });
  mustOk(deleteRepository(deleter, {{"repositoryName", "app"}}));
  EXPECT_FALSE(cache().get(keys::repo("app")));
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("app")), 0u);
  EXPECT_EQ(cache().countPrefix(keys::tagsOf("app")), 0u);
  EXPECT_EQ(cache().countPrefix(keys::linksOf("app")), 0u);
}

}  // namespace
}  // namespace berth::registry

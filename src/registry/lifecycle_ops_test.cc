#include "registry/lifecycle_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "control/testing/ecs_fixture.h"
#include "oci/digest.h"
#include "registry/keys.h"

namespace berth::registry {
namespace {

using control::test::EcsFixture;
using control::test::kAccount;
using control::test::mustOk;
using nlohmann::json;
using Strings = std::vector<std::string>;

constexpr double kDay = 86400;
const char* kManifestType = "application/vnd.oci.image.manifest.v1+json";

std::string digestFor(const std::string& seed) { return oci::digestOf(seed).str(); }

std::string keepNewestAnyPolicy(int n) {
  json rule = {{"rulePriority", 1},
               {"description", "keep the newest images"},
               {"selection", {{"tagStatus", "any"}, {"countType", "imageCountMoreThan"}, {"countNumber", n}}},
               {"action", {{"type", "expire"}}}};
  return json{{"rules", json::array({rule})}}.dump();
}

// Rule 1 keeps one "release" image; rule 2 expires untagged images older than a day.
std::string releaseAndUntaggedPolicy() {
  json release = {{"rulePriority", 1},
                  {"selection",
                   {{"tagStatus", "tagged"}, {"tagPrefixList", json::array({"release"})}, {"countType", "imageCountMoreThan"},
                    {"countNumber", 1}}},
                  {"action", {{"type", "expire"}}}};
  json untagged = {{"rulePriority", 2},
                   {"selection", {{"tagStatus", "untagged"}, {"countType", "sinceImagePushed"}, {"countUnit", "days"}, {"countNumber", 1}}},
                   {"action", {{"type", "expire"}}}};
  return json{{"rules", json::array({release, untagged})}}.dump();
}

class LifecycleOpsTest : public EcsFixture {
 protected:
  double now() { return clock().epochSeconds(); }

  void putRepo(const std::string& name, std::optional<std::string> policy = std::nullopt) {
    json doc = {{"repositoryName", name},
                {"repositoryArn", "arn:aws:ecr:eu-west-3:" + std::string(kAccount) + ":repository/" + name},
                {"registryId", kAccount},
                {"createdAt", now()},
                {"imageTagMutability", "MUTABLE"}};
    if (policy) doc["lifecyclePolicyText"] = *policy;
    env_->putDoc(keys::repo(name), doc);
  }
  // Pushed `ageDays` ago; returns the digest.
  std::string putImage(const std::string& repo, const std::string& seed, double ageDays, Strings tags = {},
                       Strings children = {}) {
    const std::string digest = digestFor(seed);
    env_->putDoc(keys::image(repo, digest), {{"imageDigest", digest},
                                             {"imageManifestMediaType", kManifestType},
                                             {"artifactMediaType", "application/vnd.oci.image.config.v1+json"},
                                             {"manifest", "{}"},
                                             {"imageSizeInBytes", 1000 + seed.size()},
                                             {"imagePushedAt", now() - ageDays * kDay},
                                             {"blobs", json::array()},
                                             {"children", children}});
    for (const auto& t : tags) putTag(repo, t, digest);
    return digest;
  }
  void putTag(const std::string& repo, const std::string& tag, const std::string& digest) {
    env_->putDoc(keys::tag(repo, tag), {{"imageDigest", digest}, {"updatedAt", now()}});
  }
  // What image_ops' deleteImages does to the documents, for end-to-end runs.
  void deleteImage(const std::string& repo, const std::string& digest) {
    Strings tagKeys;
    cache().scan(keys::tagsOf(repo), "", [&](const std::string& k, const control::CachedObject& o) {
      if (o.doc.value("imageDigest", "") == digest) tagKeys.push_back(k);
      return true;
    });
    for (const auto& k : tagKeys) env_->deleteKey(k);
    env_->deleteKey(keys::image(repo, digest));
  }

  json startPreview(const std::string& repo, std::optional<std::string> text = std::nullopt) {
    json req = {{"repositoryName", repo}};
    if (text) req["lifecyclePolicyText"] = *text;
    return mustOk(startLifecyclePolicyPreview(ctx(), req), "StartLifecyclePolicyPreview");
  }
  json getPreview(json req) { return mustOk(getLifecyclePolicyPreview(ctx(), req), "GetLifecyclePolicyPreview"); }

  static Strings previewDigests(const json& response) {
    Strings out;
    for (const auto& r : response["previewResults"]) out.push_back(r["imageDigest"]);
    return out;
  }
};

// --- imageFactsOf -----------------------------------------------------------

TEST_F(LifecycleOpsTest, FactsOfUnknownRepositoryIsRepositoryNotFound) {
  auto r = imageFactsOf(ctx(), "nope/app");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRepositoryNotFound);
  EXPECT_EQ(r.error().message, "The repository with name 'nope/app' does not exist in the registry with id '123456789012'");
}

TEST_F(LifecycleOpsTest, FactsCarryTagsSizesAndPushTimes) {
  putRepo("team/app");
  putRepo("team/app/sub");  // shares a key prefix with team/app, but not its images or tags
  const std::string a = putImage("team/app", "a", 3, {"v2", "latest", "v1"});
  const std::string b = putImage("team/app", "b", 1);
  putImage("team/app/sub", "c", 1, {"other"});
  putTag("team/app", "dangling", digestFor("missing"));

  auto facts = mustOk(imageFactsOf(ctx(), "team/app"));
  ASSERT_EQ(facts.size(), 2u);
  std::map<std::string, ImageFacts> byDigest;
  for (auto& f : facts) byDigest[f.digest] = f;
  ASSERT_TRUE(byDigest.count(a) && byDigest.count(b));
  EXPECT_EQ(byDigest[a].tags, (Strings{"latest", "v1", "v2"}));
  EXPECT_TRUE(byDigest[b].tags.empty());
  EXPECT_DOUBLE_EQ(byDigest[a].pushedAt, now() - 3 * kDay);
  EXPECT_EQ(byDigest[a].sizeInBytes, 1001);
  EXPECT_EQ(byDigest[a].manifestMediaType, kManifestType);
  EXPECT_EQ(byDigest[a].artifactMediaType, "application/vnd.oci.image.config.v1+json");
}

TEST_F(LifecycleOpsTest, FactsLeaveOutIndexChildren) {
  putRepo("multi");
  const std::string amd = putImage("multi", "amd64", 5);
  const std::string arm = putImage("multi", "arm64", 5);
  const std::string index = putImage("multi", "index", 5, {"v1"}, {amd, arm});
  auto facts = mustOk(imageFactsOf(ctx(), "multi"));
  ASSERT_EQ(facts.size(), 1u);
  EXPECT_EQ(facts[0].digest, index);
}

// --- previews ---------------------------------------------------------------

TEST_F(LifecycleOpsTest, StartPreviewAnswersInProgressAndGetShowsTheResults) {
  putRepo("app");
  const std::string oldest = putImage("app", "1", 5, {"v1"});
  const std::string older = putImage("app", "2", 4);
  putImage("app", "3", 3, {"v3"});
  putImage("app", "4", 2);
  putImage("app", "5", 1, {"v5", "latest"});

  const std::string policy = keepNewestAnyPolicy(3);
  json started = startPreview("app", policy);
  EXPECT_EQ(started, (json{{"registryId", kAccount}, {"repositoryName", "app"}, {"lifecyclePolicyText", policy},
                           {"status", "IN_PROGRESS"}}));

  json got = getPreview({{"repositoryName", "app"}});
  EXPECT_EQ(got["registryId"], kAccount);
  EXPECT_EQ(got["repositoryName"], "app");
  EXPECT_EQ(got["lifecyclePolicyText"], policy);
  EXPECT_EQ(got["status"], "COMPLETE");
  EXPECT_EQ(got["summary"], (json{{"expiringImageTotalCount", 2}}));
  EXPECT_FALSE(got.contains("nextToken"));
  ASSERT_EQ(got["previewResults"].size(), 2u);
  EXPECT_EQ(got["previewResults"][0], (json{{"imageTags", json::array({"v1"})},
                                            {"imageDigest", oldest},
                                            {"imagePushedAt", now() - 5 * kDay},
                                            {"action", {{"type", "EXPIRE"}}},
                                            {"appliedRulePriority", 1}}));
  EXPECT_EQ(got["previewResults"][1]["imageDigest"], older);
  EXPECT_EQ(got["previewResults"][1]["imageTags"], json::array());
}

TEST_F(LifecycleOpsTest, StartPreviewUsesTheRepositoryPolicyWhenNoneIsGiven) {
  putRepo("app", keepNewestAnyPolicy(1));
  putImage("app", "1", 2);
  const std::string newest = putImage("app", "2", 1);
  json started = startPreview("app");
  EXPECT_EQ(started["lifecyclePolicyText"], keepNewestAnyPolicy(1));
  json got = getPreview({{"repositoryName", "app"}});
  EXPECT_EQ(previewDigests(got), (Strings{digestFor("1")}));
  EXPECT_NE(previewDigests(got)[0], newest);
}

TEST_F(LifecycleOpsTest, StartPreviewErrors) {
  auto r = startLifecyclePolicyPreview(ctx(), {{"repositoryName", "ghost"}, {"lifecyclePolicyText", keepNewestAnyPolicy(1)}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRepositoryNotFound);
  EXPECT_EQ(r.error().message, "The repository with name 'ghost' does not exist in the registry with id '123456789012'");

  putRepo("app");
  r = startLifecyclePolicyPreview(ctx(), {{"repositoryName", "app"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kLifecyclePolicyNotFound);
  EXPECT_EQ(r.error().message,
            "Lifecycle policy does not exist for the repository with name 'app' in the registry with id '123456789012'");

  r = startLifecyclePolicyPreview(ctx(), {{"repositoryName", "app"}, {"lifecyclePolicyText", R"({"rules":[]})"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  EXPECT_NE(r.error().message.find("Lifecycle policy validation failure"), std::string::npos);
  EXPECT_FALSE(cache().get(keys::preview("app")));  // a refused preview stores nothing
}

TEST_F(LifecycleOpsTest, GetPreviewErrors) {
  auto r = getLifecyclePolicyPreview(ctx(), {{"repositoryName", "ghost"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kRepositoryNotFound);

  putRepo("app");
  r = getLifecyclePolicyPreview(ctx(), {{"repositoryName", "app"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kLifecyclePolicyPreviewNotFound);

  startPreview("app", keepNewestAnyPolicy(1));
  r = getLifecyclePolicyPreview(ctx(), {{"repositoryName", "app"},
                                        {"imageIds", json::array({{{"imageTag", "x"}}})},
                                        {"maxResults", 5}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  r = getLifecyclePolicyPreview(ctx(), {{"repositoryName", "app"}, {"maxResults", 101}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
  r = getLifecyclePolicyPreview(ctx(), {{"repositoryName", "app"}, {"filter", {{"tagStatus", "SOME"}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(LifecycleOpsTest, GetPreviewFiltersByTagStatusAndImageIds) {
  putRepo("app");
  const std::string t1 = putImage("app", "t1", 6, {"a1", "shared"});
  const std::string u1 = putImage("app", "u1", 5);
  const std::string t2 = putImage("app", "t2", 4, {"a2"});
  putImage("app", "keep", 1);
  startPreview("app", keepNewestAnyPolicy(1));

  EXPECT_EQ(previewDigests(getPreview({{"repositoryName", "app"}, {"filter", {{"tagStatus", "TAGGED"}}}})),
            (Strings{t1, t2}));
  json untagged = getPreview({{"repositoryName", "app"}, {"filter", {{"tagStatus", "UNTAGGED"}}}});
  EXPECT_EQ(previewDigests(untagged), (Strings{u1}));
  // The summary counts the whole preview, not the filtered page.
  EXPECT_EQ(untagged["summary"]["expiringImageTotalCount"], 3);
  EXPECT_EQ(previewDigests(getPreview({{"repositoryName", "app"}, {"filter", {{"tagStatus", "ANY"}}}})),
            (Strings{t1, u1, t2}));

  EXPECT_EQ(previewDigests(getPreview({{"repositoryName", "app"}, {"imageIds", json::array({{{"imageTag", "a2"}}, {{"imageDigest", u1}}})}})),
            (Strings{u1, t2}));
  // Both members given: both must hold.
  EXPECT_TRUE(previewDigests(getPreview({{"repositoryName", "app"}, {"imageIds", json::array({{{"imageTag", "a2"}, {"imageDigest", t1}}})}}))
                  .empty());
  EXPECT_EQ(previewDigests(getPreview({{"repositoryName", "app"}, {"imageIds", json::array({{{"imageTag", "shared"}, {"imageDigest", t1}}})}})),
            (Strings{t1}));
}

TEST_F(LifecycleOpsTest, GetPreviewPaginates) {
  putRepo("app");
  Strings expected;
  for (int i = 0; i < 5; ++i) expected.push_back(putImage("app", "img" + std::to_string(i), 10 - i));
  putImage("app", "newest", 0.5);
  startPreview("app", keepNewestAnyPolicy(1));

  Strings seen;
  json req = {{"repositoryName", "app"}, {"maxResults", 2}};
  for (int pages = 0; pages < 10; ++pages) {
    json page = getPreview(req);
    EXPECT_LE(page["previewResults"].size(), 2u);
    for (const auto& d : previewDigests(page)) seen.push_back(d);
    if (!page.contains("nextToken")) break;
    req["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(seen, expected);

  auto bad = getLifecyclePolicyPreview(ctx(), {{"repositoryName", "app"}, {"nextToken", "garbage"}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);
}

// --- applying policies ------------------------------------------------------

struct Recorder {
  std::map<std::string, Strings> calls;
  Status result = okStatus();
  ExpireImagesFn fn() {
    return [this](const std::string& repo, const Strings& digests) {
      auto& v = calls[repo];
      v.insert(v.end(), digests.begin(), digests.end());
      return result;
    };
  }
};

TEST_F(LifecycleOpsTest, ApplyExpiresWhatEachRepositoryPolicySelects) {
  putRepo("app", keepNewestAnyPolicy(2));
  putRepo("svc", releaseAndUntaggedPolicy());
  putRepo("nopolicy");
  const std::string a1 = putImage("app", "a1", 3);
  putImage("app", "a2", 2);
  putImage("app", "a3", 1);
  const std::string r1 = putImage("svc", "r1", 9, {"release-1"});
  putImage("svc", "r2", 8, {"release-2"});
  const std::string u1 = putImage("svc", "u1", 3);
  putImage("svc", "u2", 0.5);
  putImage("nopolicy", "n1", 100);

  Recorder rec;
  auto stats = applyLifecyclePolicies(ctx(), rec.fn());
  EXPECT_EQ(stats.repositoriesEvaluated, 2u);
  EXPECT_EQ(stats.imagesExpired, 3u);
  EXPECT_EQ(rec.calls.size(), 2u);
  EXPECT_EQ(rec.calls["app"], (Strings{a1}));
  EXPECT_EQ(rec.calls["svc"], (Strings{r1, u1}));
  EXPECT_FALSE(rec.calls.count("nopolicy"));

  EXPECT_DOUBLE_EQ(cache().get(keys::repo("app"))->doc["lifecyclePolicyLastEvaluatedAt"].get<double>(), now());
  EXPECT_DOUBLE_EQ(cache().get(keys::repo("svc"))->doc["lifecyclePolicyLastEvaluatedAt"].get<double>(), now());
  EXPECT_FALSE(cache().get(keys::repo("nopolicy"))->doc.contains("lifecyclePolicyLastEvaluatedAt"));
}

TEST_F(LifecycleOpsTest, ApplyDoesNotCallExpireWhenNothingExpires) {
  putRepo("app", keepNewestAnyPolicy(5));
  putImage("app", "a1", 3);
  Recorder rec;
  auto stats = applyLifecyclePolicies(ctx(), rec.fn());
  EXPECT_EQ(stats.repositoriesEvaluated, 1u);
  EXPECT_EQ(stats.imagesExpired, 0u);
  EXPECT_TRUE(rec.calls.empty());
  EXPECT_TRUE(cache().get(keys::repo("app"))->doc.contains("lifecyclePolicyLastEvaluatedAt"));
}

TEST_F(LifecycleOpsTest, ApplyGoesOnAfterARepositoryFails) {
  putRepo("broken", R"({"rules":"not a list"})");  // stored before validation existed, say
  putRepo("failing", keepNewestAnyPolicy(1));
  putRepo("good", keepNewestAnyPolicy(1));
  putImage("failing", "f1", 2);
  putImage("failing", "f2", 1);
  const std::string g1 = putImage("good", "g1", 2);
  putImage("good", "g2", 1);

  Recorder rec;
  ExpireImagesFn fn = [&](const std::string& repo, const Strings& digests) -> Status {
    if (repo == "failing") return Error::make(ErrorCode::kIo, "disk on fire");
    return rec.fn()(repo, digests);
  };
  auto stats = applyLifecyclePolicies(ctx(), fn);
  EXPECT_EQ(stats.repositoriesEvaluated, 2u);  // "broken" could not be evaluated
  EXPECT_EQ(stats.imagesExpired, 1u);          // only "good" succeeded
  EXPECT_EQ(rec.calls["good"], (Strings{g1}));
  EXPECT_FALSE(cache().get(keys::repo("broken"))->doc.contains("lifecyclePolicyLastEvaluatedAt"));
  EXPECT_FALSE(cache().get(keys::repo("failing"))->doc.contains("lifecyclePolicyLastEvaluatedAt"));
  EXPECT_TRUE(cache().get(keys::repo("good"))->doc.contains("lifecyclePolicyLastEvaluatedAt"));
}

// The promise of a preview: at the same instant it lists exactly what the run expires.
TEST_F(LifecycleOpsTest, PreviewListsExactlyWhatApplyExpires) {
  putRepo("svc", releaseAndUntaggedPolicy());
  for (int i = 0; i < 4; ++i) putImage("svc", "rel" + std::to_string(i), 10 - i, {"release-" + std::to_string(i)});
  for (int i = 0; i < 4; ++i) putImage("svc", "untagged" + std::to_string(i), 2.5 - i);
  putImage("svc", "dev", 20, {"dev"});  // matched by no rule
  const std::string amd = putImage("svc", "child-amd", 30);
  putImage("svc", "index", 0.1, {"release-idx"}, {amd});

  startPreview("svc");
  Strings previewed = previewDigests(getPreview({{"repositoryName", "svc"}}));
  Recorder rec;
  applyLifecyclePolicies(ctx(), rec.fn());
  EXPECT_EQ(rec.calls["svc"], previewed);
  EXPECT_EQ(previewed.size(), 4u + 2u);  // 4 of 5 release images, 2 untagged past a day
  EXPECT_EQ(std::count(previewed.begin(), previewed.end(), amd), 0);  // the index child stays
}

TEST_F(LifecycleOpsTest, ApplyingTwiceExpiresNothingMore) {
  putRepo("app", keepNewestAnyPolicy(2));
  for (int i = 0; i < 5; ++i) putImage("app", "i" + std::to_string(i), 5 - i, {"t" + std::to_string(i)});
  ExpireImagesFn deleting = [&](const std::string& repo, const Strings& digests) -> Status {
    for (const auto& d : digests) deleteImage(repo, d);
    return okStatus();
  };
  EXPECT_EQ(applyLifecyclePolicies(ctx(), deleting).imagesExpired, 3u);
  EXPECT_EQ(mustOk(imageFactsOf(ctx(), "app")).size(), 2u);
  EXPECT_EQ(applyLifecyclePolicies(ctx(), deleting).imagesExpired, 0u);
}

}  // namespace
}  // namespace berth::registry

#include "registry/image_ops.h"

#include <gtest/gtest.h>

#include <thread>

#include "registry/keys.h"
#include "registry/testing/interposing_store.h"
#include "registry/testing/registry_fixture.h"

namespace berth::registry {
namespace {

using nlohmann::json;
using test::Blob;
using test::descriptor;
using test::mustOk;

class ImageOpsTest : public test::RegistryFixture {
 protected:
  void SetUp() override { createRepo("app"); }
};

TEST_F(ImageOpsTest, StoresManifestsByteExact) {
  Blob config = linked("app", "config");
  Blob layer = linked("app", "layer");
  // Whitespace and member order are part of the content: the digest covers the bytes.
  std::string body = "{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\",\n"
                     "  \"config\": " + descriptor(oci::kDockerConfig, config).dump() + ",\n  \"layers\": [ " +
                     descriptor(oci::kDockerLayerTarGzip, layer).dump() + " ]\n}";
  auto r = mustOk(put("app", "v1", body));
  EXPECT_EQ(r.digest, oci::digestOf(body).str());
  EXPECT_EQ(r.mediaType, oci::kDockerManifest);
  EXPECT_EQ(r.image["imageId"], json({{"imageDigest", r.digest}, {"imageTag", "v1"}}));
  EXPECT_EQ(r.image["imageManifest"], body);

  for (const std::string& ref : {std::string("v1"), r.digest}) {
    auto got = mustOk(getManifest(ctx(), "app", ref));
    EXPECT_EQ(got.body, body);
    EXPECT_EQ(got.digest, r.digest);
    EXPECT_EQ(got.mediaType, oci::kDockerManifest);
  }
  auto doc = cache().get(keys::image("app", r.digest))->doc;
  EXPECT_EQ(doc["imageSizeInBytes"], config.size + layer.size);
  EXPECT_EQ(doc["artifactMediaType"], oci::kDockerConfig);
  EXPECT_DOUBLE_EQ(doc["imagePushedAt"].get<double>(), clock().epochSeconds());
}

TEST_F(ImageOpsTest, PullTimeIsRecordedAtMostOncePerRefreshPeriod) {
  std::string body = imageBody("app", "pulled");
  auto r = mustOk(put("app", "v1", body));
  const std::string key = keys::image("app", r.digest);
  EXPECT_FALSE(cache().get(key)->doc.contains("lastRecordedPullTime"));

  ASSERT_TRUE(recordImagePull(ctx(), "app", r.digest).ok());
  auto first = *cache().get(key);
  EXPECT_DOUBLE_EQ(first.doc["lastRecordedPullTime"].get<double>(), clock().epochSeconds());
  EXPECT_EQ(first.doc["manifest"], body);  // the rest of the image is untouched

  clock().advance(std::chrono::minutes(30));
  ASSERT_TRUE(recordImagePull(ctx(), "app", r.digest).ok());
  EXPECT_EQ(cache().get(key)->modRevision, first.modRevision);  // no write within the period

  clock().advance(std::chrono::minutes(31));
  ASSERT_TRUE(recordImagePull(ctx(), "app", r.digest).ok());
  EXPECT_DOUBLE_EQ(cache().get(key)->doc["lastRecordedPullTime"].get<double>(), clock().epochSeconds());
  // An image that is gone is not an error (the pull reports it).
  EXPECT_TRUE(recordImagePull(ctx(), "app", oci::digestOf("nothing").str()).ok());
}

TEST_F(ImageOpsTest, DigestReferenceMustMatchTheBody) {
  std::string body = imageBody("app", "one");
  std::string digest = oci::digestOf(body).str();
  auto wrong = put("app", oci::digestOf("something else").str(), body);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::kDigestInvalid);
  auto sha512 = put("app", oci::digestOf(body, oci::DigestAlgorithm::kSha512).str(), body);
  ASSERT_FALSE(sha512.ok());
  EXPECT_EQ(sha512.error().code, ErrorCode::kDigestInvalid);
  auto malformed = put("app", "sha256:nothex", body);
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().code, ErrorCode::kDigestInvalid);
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("app")), 0u);

  auto byDigest = mustOk(put("app", digest, body));
  EXPECT_EQ(byDigest.digest, digest);
  EXPECT_EQ(mustOk(listTags(ctx(), "app")).size(), 0u);  // pushed by digest: untagged
}

TEST_F(ImageOpsTest, BadTagAndMissingRepository) {
  std::string body = imageBody("app", "one");
  auto badTag = put("app", "-bad", body);
  ASSERT_FALSE(badTag.ok());
  EXPECT_EQ(badTag.error().code, ErrorCode::kTagInvalid);
  auto noRepo = put("nope", "v1", body);
  ASSERT_FALSE(noRepo.ok());
  EXPECT_EQ(noRepo.error().code, ErrorCode::kRepositoryNotFound);
  auto get = getManifest(ctx(), "nope", "v1");
  ASSERT_FALSE(get.ok());
  EXPECT_EQ(get.error().code, ErrorCode::kRepositoryNotFound);
  auto unknown = getManifest(ctx(), "app", "v1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, ErrorCode::kImageNotFound);
  EXPECT_EQ(unknown.error().message, "Requested image not found");
}

TEST_F(ImageOpsTest, ManifestReferencingAnUnlinkedBlobIsRefused) {
  Blob config = linked("app", "config");
  Blob layer = test::blobOf("never uploaded");
  auto r = put("app", "v1", manifestBody(config, {layer}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kLayersNotFound);
  EXPECT_EQ(r.error().message, "Layers with digests '[" + layer.digest +
                                   "]' required for pushing image into repository with name 'app' in the registry "
                                   "with id '123456789012' do not exist");
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("app")), 0u);
  EXPECT_EQ(cache().countPrefix(keys::tagsOf("app")), 0u);
}

TEST_F(ImageOpsTest, BlobsLinkedToAnotherRepositoryDoNotCount) {
  createRepo("other");
  Blob config = linked("other", "config");
  Blob layer = linked("other", "layer");
  auto r = put("app", "v1", manifestBody(config, {layer}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kLayersNotFound);
}

TEST_F(ImageOpsTest, ImmutableRepositoryRefusesToMoveATag) {
  createRepo("locked", "IMMUTABLE");
  std::string first = pushImage("locked", "v1", "one");
  std::string second = imageBody("locked", "two");
  auto moved = put("locked", "v1", second);
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, ErrorCode::kImageTagAlreadyExists);
  EXPECT_EQ(moved.error().message,
            "The image tag 'v1' already exists in the 'locked' repository and cannot be overwritten because the "
            "repository is immutable.");
  EXPECT_EQ(mustOk(getManifest(ctx(), "locked", "v1")).digest, first);
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("locked")), 1u);

  // The same image under the same tag is not a move.
  mustOk(put("locked", "v1", mustOk(getManifest(ctx(), "locked", first)).body));
  // New tags are fine, for new and existing images.
  mustOk(put("locked", "v2", second));
  mustOk(put("locked", "also-one", mustOk(getManifest(ctx(), "locked", first)).body));
  EXPECT_EQ(mustOk(listTags(ctx(), "locked")), (std::vector<std::string>{"also-one", "v1", "v2"}));
}

TEST_F(ImageOpsTest, MutableRepositoryMovesTheTagAndKeepsTheOldImageUntagged) {
  std::string first = pushImage("app", "latest", "one");
  std::string second = pushImage("app", "latest", "two");
  EXPECT_NE(first, second);
  EXPECT_EQ(mustOk(getManifest(ctx(), "app", "latest")).digest, second);
  EXPECT_TRUE(mustOk(getManifest(ctx(), "app", first)).body.size() > 0);
  EXPECT_EQ(mustOk(listTags(ctx(), "app")), std::vector<std::string>{"latest"});
}

TEST_F(ImageOpsTest, SameDigestRepushWritesNothing) {
  std::string body = imageBody("app", "one");
  mustOk(put("app", "v1", body));
  auto revision = cache().revision();
  auto again = mustOk(put("app", "v1", body));
  EXPECT_EQ(again.digest, oci::digestOf(body).str());
  EXPECT_EQ(cache().revision(), revision);
}

TEST_F(ImageOpsTest, IndexNeedsItsChildrenInTheRepository) {
  std::string amd64 = imageBody("app", "amd64");
  std::string arm64 = imageBody("app", "arm64");
  Blob amd{oci::digestOf(amd64).str(), static_cast<std::int64_t>(amd64.size())};
  Blob arm{oci::digestOf(arm64).str(), static_cast<std::int64_t>(arm64.size())};
  mustOk(put("app", "", amd64));
  std::string index = indexBody({amd, arm});
  auto missing = put("app", "multi", index);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kReferencedImagesNotFound);
  EXPECT_EQ(missing.error().message, "Images with digests '[" + arm.digest +
                                         "]' required for pushing image into repository with name 'app' in the "
                                         "registry with id '123456789012' do not exist");

  // Children pushed later, by digest, untagged (as docker buildx does).
  mustOk(put("app", arm.digest, arm64));
  auto r = mustOk(put("app", "multi", index));
  EXPECT_EQ(r.mediaType, oci::kOciIndex);
  auto doc = cache().get(keys::image("app", r.digest))->doc;
  EXPECT_EQ(doc["children"], json({amd.digest, arm.digest}));
  auto sizeOf = [&](const Blob& b) { return cache().get(keys::image("app", b.digest))->doc["imageSizeInBytes"].get<std::int64_t>(); };
  EXPECT_EQ(doc["imageSizeInBytes"].get<std::int64_t>(), std::max(sizeOf(amd), sizeOf(arm)));
  EXPECT_FALSE(doc.contains("artifactMediaType"));
}

TEST_F(ImageOpsTest, DockerManifestListWorksToo) {
  std::string child = imageBody("app", "one", oci::kDockerManifest);
  mustOk(put("app", "", child));
  auto r = mustOk(put("app", "list", indexBody({{oci::digestOf(child).str(), static_cast<std::int64_t>(child.size())}},
                                                oci::kDockerManifestList)));
  EXPECT_EQ(mustOk(getManifest(ctx(), "app", "list")).mediaType, oci::kDockerManifestList);
  EXPECT_EQ(r.mediaType, oci::kDockerManifestList);
}

TEST_F(ImageOpsTest, MediaTypeConflictAndSchema1AreInvalid) {
  std::string body = imageBody("app", "one");  // says OCI manifest
  auto conflict = put("app", "v1", body, std::string(oci::kDockerManifest));
  ASSERT_FALSE(conflict.ok());
  EXPECT_EQ(conflict.error().code, ErrorCode::kManifestInvalid);
  mustOk(put("app", "v1", body, "application/vnd.oci.image.manifest.v1+json; charset=utf-8"));

  auto schema1 = put("app", "old", R"({"schemaVersion":1,"name":"app","tag":"old","fsLayers":[],"history":[]})",
                     std::string(oci::kDockerManifestV1Signed));
  ASSERT_FALSE(schema1.ok());
  EXPECT_EQ(schema1.error().code, ErrorCode::kManifestInvalid);
}

TEST_F(ImageOpsTest, OciArtifactsWithAnyMediaTypes) {
  Blob config = linked("app", "{}");
  Blob payload = linked("app", "helm chart bytes");
  json m = {{"schemaVersion", 2},
            {"mediaType", oci::kOciManifest},
            {"config", descriptor("application/vnd.cncf.helm.config.v1+json", config)},
            {"layers", {descriptor("application/vnd.cncf.helm.chart.content.v1.tar+gzip", payload)}}};
  auto r = mustOk(put("app", "chart-1.0.0", m.dump()));
  auto doc = cache().get(keys::image("app", r.digest))->doc;
  EXPECT_EQ(doc["artifactMediaType"], "application/vnd.cncf.helm.config.v1+json");
  EXPECT_EQ(cache().get(keys::link("app", payload.digest))->doc["mediaType"],
            "application/vnd.cncf.helm.chart.content.v1.tar+gzip");
}

TEST_F(ImageOpsTest, DeleteByTagKeepsTheImage) {
  std::string digest = pushImage("app", "v1", "one");
  mustOk(put("app", "v2", mustOk(getManifest(ctx(), "app", digest)).body));
  mustOk(deleteManifest(ctx(), "app", "v1"));
  EXPECT_EQ(mustOk(listTags(ctx(), "app")), std::vector<std::string>{"v2"});
  mustOk(deleteManifest(ctx(), "app", "v2"));
  EXPECT_TRUE(mustOk(listTags(ctx(), "app")).empty());
  EXPECT_TRUE(getManifest(ctx(), "app", digest).ok());  // untagged, still there

  auto again = deleteManifest(ctx(), "app", "v2");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kImageNotFound);
}

TEST_F(ImageOpsTest, DeleteByDigestTakesTheTagsAlong) {
  std::string digest = pushImage("app", "v1", "one");
  mustOk(put("app", "v2", mustOk(getManifest(ctx(), "app", digest)).body));
  std::string other = pushImage("app", "v3", "two");
  mustOk(deleteManifest(ctx(), "app", digest));
  EXPECT_FALSE(getManifest(ctx(), "app", digest).ok());
  EXPECT_EQ(mustOk(listTags(ctx(), "app")), std::vector<std::string>{"v3"});
  EXPECT_EQ(mustOk(getManifest(ctx(), "app", "v3")).digest, other);
  auto missing = deleteManifest(ctx(), "app", digest);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kImageNotFound);
}

TEST_F(ImageOpsTest, AnImageAnIndexListsIsNotDeletedUnderIt) {
  std::string child = imageBody("app", "one");
  std::string childDigest = mustOk(put("app", "", child)).digest;
  auto index = mustOk(put("app", "multi", indexBody({{childDigest, static_cast<std::int64_t>(child.size())}})));
  auto refused = deleteManifest(ctx(), "app", childDigest);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::kDenied);

  // deleteImages (the lifecycle expiry path) skips it too, unless the index goes as well.
  mustOk(deleteImages(ctx(), "app", {childDigest, "sha256:" + std::string(64, '0')}));
  EXPECT_TRUE(getManifest(ctx(), "app", childDigest).ok());
  mustOk(deleteImages(ctx(), "app", {childDigest, index.digest}));
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("app")), 0u);
  EXPECT_EQ(cache().countPrefix(keys::tagsOf("app")), 0u);
}

TEST_F(ImageOpsTest, ListsTagsAndRepositories) {
  createRepo("app/sub");
  for (const char* tag : {"b", "a", "C", "a.1"}) pushImage("app", tag, tag);
  EXPECT_EQ(mustOk(listTags(ctx(), "app")), (std::vector<std::string>{"C", "a", "a.1", "b"}));
  EXPECT_TRUE(mustOk(listTags(ctx(), "app/sub")).empty());
  EXPECT_EQ(listRepositoryNames(ctx()), (std::vector<std::string>{"app", "app/sub"}));
  auto missing = listTags(ctx(), "nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kRepositoryNotFound);
}

TEST_F(ImageOpsTest, ReferrersFilteredByArtifactType) {
  std::string subjectBody = imageBody("app", "subject");
  Blob subject{oci::digestOf(subjectBody).str(), static_cast<std::int64_t>(subjectBody.size())};
  Blob empty = linked("app", "{}");
  auto artifact = [&](const std::string& type, const std::string& content, json annotations) {
    Blob payload = linked("app", content);
    json m = {{"schemaVersion", 2},
              {"mediaType", oci::kOciManifest},
              {"artifactType", type},
              {"config", descriptor("application/vnd.oci.empty.v1+json", empty)},
              {"layers", {descriptor("application/octet-stream", payload)}},
              {"subject", descriptor(oci::kOciManifest, subject)}};
    if (!annotations.is_null()) m["annotations"] = annotations;
    return mustOk(put("app", "", m.dump()));
  };
  // Indexed even though the subject is not in the repository yet.
  auto sbom = artifact("application/spdx+json", "sbom", json{{"org.example.kind", "sbom"}});
  EXPECT_EQ(sbom.subject, subject.digest);
  auto sig = artifact("application/vnd.dev.cosign.artifact.sig.v1+json", "signature", json());
  mustOk(put("app", "v1", subjectBody));

  auto all = mustOk(referrers(ctx(), "app", subject.digest, ""));
  EXPECT_EQ(all["mediaType"], oci::kOciIndex);
  EXPECT_EQ(all["schemaVersion"], 2);
  ASSERT_EQ(all["manifests"].size(), 2u);

  auto sboms = mustOk(referrers(ctx(), "app", subject.digest, "application/spdx+json"));
  ASSERT_EQ(sboms["manifests"].size(), 1u);
  const json& d = sboms["manifests"][0];
  EXPECT_EQ(d["digest"], sbom.digest);
  EXPECT_EQ(d["mediaType"], oci::kOciManifest);
  EXPECT_EQ(d["artifactType"], "application/spdx+json");
  EXPECT_EQ(d["size"], mustOk(getManifest(ctx(), "app", sbom.digest)).body.size());
  EXPECT_EQ(d["annotations"], json({{"org.example.kind", "sbom"}}));

  EXPECT_TRUE(mustOk(referrers(ctx(), "app", subject.digest, "application/none"))["manifests"].empty());
  EXPECT_TRUE(mustOk(referrers(ctx(), "app", sig.digest, ""))["manifests"].empty());
  auto bad = referrers(ctx(), "app", "sha256:xyz", "");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kDigestInvalid);
}

TEST_F(ImageOpsTest, AConcurrentDeleteOfTheImageCannotLeaveANewTagDangling) {
  std::string digest = pushImage("app", "v1", "one");
  std::string body = mustOk(getManifest(ctx(), "app", digest)).body;
  // Tagging an existing image writes only the tag and compares on the image
  // document: an image deleted after the read makes the attempt rebuild, and
  // the image is stored again instead of the tag pointing at nothing.
  test::InterposingStore racing(store());
  control::EcsContext racingCtx{racing, cache(), clock(), env_->random, ctx().account};
  racing.beforeNextTxn([&] { mustOk(deleteManifest(ctx(), "app", digest)); });
  mustOk(putManifest(racingCtx, PutManifestRequest{"app", "v2", "", body, std::nullopt, false}));
  EXPECT_EQ(racing.txnCount(), 2);
  EXPECT_EQ(mustOk(getManifest(ctx(), "app", "v2")).digest, digest);
  EXPECT_EQ(mustOk(listTags(ctx(), "app")), std::vector<std::string>{"v2"});
}

TEST_F(ImageOpsTest, AConcurrentTagMutabilityChangeIsSeen) {
  std::string first = pushImage("app", "v1", "one");
  std::string second = imageBody("app", "two");
  test::InterposingStore racing(store());
  control::EcsContext racingCtx{racing, cache(), clock(), env_->random, ctx().account};
  racing.beforeNextTxn([&] {
    mustOk(putImageTagMutability(ctx(), {{"repositoryName", "app"}, {"imageTagMutability", "IMMUTABLE"}}));
  });
  auto moved = putManifest(racingCtx, PutManifestRequest{"app", "v1", "", second, std::nullopt, false});
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.error().code, ErrorCode::kImageTagAlreadyExists);
  EXPECT_EQ(mustOk(getManifest(ctx(), "app", "v1")).digest, first);
}

TEST_F(ImageOpsTest, ConcurrentPushesToAnImmutableTagHaveOneWinner) {
  createRepo("locked", "IMMUTABLE");
  constexpr int kWriters = 4;
  std::vector<std::string> bodies;
  for (int i = 0; i < kWriters; ++i) bodies.push_back(imageBody("locked", "writer" + std::to_string(i)));
  std::vector<std::optional<ErrorCode>> outcome(kWriters);
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      auto r = put("locked", "v1", bodies[i]);
      if (!r.ok()) outcome[i] = r.error().code;
    });
  for (auto& t : threads) t.join();
  int winners = 0;
  for (const auto& o : outcome) {
    if (!o) ++winners;
    else EXPECT_EQ(*o, ErrorCode::kImageTagAlreadyExists);
  }
  EXPECT_EQ(winners, 1);
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("locked")), 1u);
}

}  // namespace
}  // namespace berth::registry

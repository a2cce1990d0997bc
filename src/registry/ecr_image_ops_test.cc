#include <gtest/gtest.h>

#include "registry/image_ops.h"
#include "registry/keys.h"
#include "registry/testing/registry_fixture.h"

namespace berth::registry {
namespace {

using nlohmann::json;
using test::Blob;
using test::kAccount;
using test::mustOk;

class EcrImageOpsTest : public test::RegistryFixture {
 protected:
  void SetUp() override { createRepo("app"); }

  json req(json extra = json::object()) {
    json r = {{"repositoryName", "app"}};
    r.update(extra);
    return r;
  }
  std::string bodyOf(const std::string& digest) { return mustOk(getManifest(ctx(), "app", digest)).body; }
  void tag(const std::string& digest, const std::string& t) { mustOk(put("app", t, bodyOf(digest))); }
};

std::vector<std::string> sortedIds(const json& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids) out.push_back(id.value("imageTag", "-") + "@" + id["imageDigest"].get<std::string>().substr(7, 6));
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(EcrImageOpsTest, ListImagesOneIdPerTagPlusUntagged) {
  std::string a = pushImage("app", "v1", "a");
  tag(a, "latest");
  std::string b = pushImage("app", "", "b");
  auto any = mustOk(listImages(ctx(), req()));
  ASSERT_EQ(any["imageIds"].size(), 3u);
  EXPECT_EQ(any["imageIds"][0], json({{"imageDigest", a}, {"imageTag", "latest"}}));
  EXPECT_EQ(any["imageIds"][1], json({{"imageDigest", a}, {"imageTag", "v1"}}));
  EXPECT_EQ(any["imageIds"][2], json({{"imageDigest", b}}));
  EXPECT_FALSE(any.contains("nextToken"));

  auto tagged = mustOk(listImages(ctx(), req({{"filter", {{"tagStatus", "TAGGED"}}}})));
  EXPECT_EQ(tagged["imageIds"].size(), 2u);
  auto untagged = mustOk(listImages(ctx(), req({{"filter", {{"tagStatus", "UNTAGGED"}}}})));
  EXPECT_EQ(untagged["imageIds"], json::array({{{"imageDigest", b}}}));
  auto bad = listImages(ctx(), req({{"filter", {{"tagStatus", "SOME"}}}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidParameter);
  auto missing = listImages(ctx(), {{"repositoryName", "nope"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kRepositoryNotFound);
}

TEST_F(EcrImageOpsTest, ListImagesPaginates) {
  for (int i = 0; i < 5; ++i) pushImage("app", "t" + std::to_string(i), std::to_string(i));
  pushImage("app", "", "untagged");
  json request = req({{"maxResults", 4}});
  std::vector<json> all;
  int pages = 0;
  while (true) {
    auto page = mustOk(listImages(ctx(), request));
    ++pages;
    for (auto& id : page["imageIds"]) all.push_back(id);
    if (!page.contains("nextToken")) break;
    request["nextToken"] = page["nextToken"];
  }
  EXPECT_EQ(pages, 2);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[4]["imageTag"], "t4");
  EXPECT_FALSE(all[5].contains("imageTag"));
}

TEST_F(EcrImageOpsTest, DescribeImagesReportsSizesTagsAndTypes) {
  Blob config = linked("app", "config bytes");
  Blob l1 = linked("app", "first layer");
  Blob l2 = linked("app", "second, longer layer");
  std::string digest = mustOk(put("app", "v1", manifestBody(config, {l1, l2}, oci::kDockerManifest, oci::kDockerConfig))).digest;
  tag(digest, "prod");
  clock().advance(std::chrono::seconds(10));
  std::string untagged = pushImage("app", "", "other");

  auto all = mustOk(describeImages(ctx(), req()));
  ASSERT_EQ(all["imageDetails"].size(), 2u);
  json d = all["imageDetails"][0]["imageDigest"] == digest ? all["imageDetails"][0] : all["imageDetails"][1];
  EXPECT_EQ(d["registryId"], kAccount);
  EXPECT_EQ(d["repositoryName"], "app");
  EXPECT_EQ(d["imageTags"], json({"prod", "v1"}));
  EXPECT_EQ(d["imageSizeInBytes"], config.size + l1.size + l2.size);
  EXPECT_EQ(d["imageManifestMediaType"], oci::kDockerManifest);
  EXPECT_EQ(d["artifactMediaType"], oci::kDockerConfig);
  EXPECT_DOUBLE_EQ(d["imagePushedAt"].get<double>(), 1'700'000'000.0);

  auto onlyUntagged = mustOk(describeImages(ctx(), req({{"filter", {{"tagStatus", "UNTAGGED"}}}})));
  ASSERT_EQ(onlyUntagged["imageDetails"].size(), 1u);
  EXPECT_EQ(onlyUntagged["imageDetails"][0]["imageDigest"], untagged);
  EXPECT_FALSE(onlyUntagged["imageDetails"][0].contains("imageTags"));

  // By id: by tag and by digest naming the same image give it once.
  auto byId = mustOk(describeImages(ctx(), req({{"imageIds", {{{"imageTag", "prod"}}, {{"imageDigest", digest}}}}})));
  ASSERT_EQ(byId["imageDetails"].size(), 1u);
  EXPECT_EQ(byId["imageDetails"][0]["imageDigest"], digest);
}

TEST_F(EcrImageOpsTest, DescribeImagesNamesTheMissingImageAsEcrDoes) {
  pushImage("app", "v1", "a");
  auto missing = describeImages(ctx(), req({{"imageIds", {{{"imageTag", "v1"}}, {{"imageTag", "nope"}}}}}));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, ErrorCode::kImageNotFound);
  EXPECT_EQ(missing.error().message,
            "The image with imageId {imageDigest:'null', imageTag:'nope'} does not exist within the repository with "
            "name 'app' in the registry with id '123456789012'");
  auto paged = describeImages(ctx(), req({{"imageIds", {{{"imageTag", "v1"}}}}, {"maxResults", 5}}));
  ASSERT_FALSE(paged.ok());
  EXPECT_EQ(paged.error().code, ErrorCode::kInvalidParameter);
}

TEST_F(EcrImageOpsTest, DescribeImagesPaginates) {
  for (int i = 0; i < 3; ++i) pushImage("app", "", std::to_string(i));
  auto first = mustOk(describeImages(ctx(), req({{"maxResults", 2}})));
  ASSERT_EQ(first["imageDetails"].size(), 2u);
  ASSERT_TRUE(first.contains("nextToken"));
  auto second = mustOk(describeImages(ctx(), req({{"nextToken", first["nextToken"]}})));
  ASSERT_EQ(second["imageDetails"].size(), 1u);
  EXPECT_FALSE(second.contains("nextToken"));
  EXPECT_LT(first["imageDetails"][1]["imageDigest"].get<std::string>(),
            second["imageDetails"][0]["imageDigest"].get<std::string>());
}

TEST_F(EcrImageOpsTest, BatchGetImageReturnsManifestsAndFailures) {
  std::string a = pushImage("app", "v1", "a");
  std::string b = pushImage("app", "v2", "b");
  auto r = mustOk(batchGetImage(ctx(), req({{"imageIds",
                                              {{{"imageTag", "v1"}},
                                               {{"imageDigest", b}},
                                               {{"imageTag", "missing"}},
                                               {{"imageDigest", "sha256:nothex"}},
                                               {{"imageTag", "v1"}, {"imageDigest", b}},
                                               json::object()}}})));
  ASSERT_EQ(r["images"].size(), 2u);
  EXPECT_EQ(r["images"][0]["imageId"], json({{"imageDigest", a}, {"imageTag", "v1"}}));
  EXPECT_EQ(r["images"][0]["imageManifest"], bodyOf(a));
  EXPECT_EQ(r["images"][0]["imageManifestMediaType"], oci::kOciManifest);
  EXPECT_EQ(r["images"][0]["registryId"], kAccount);
  EXPECT_EQ(r["images"][1]["imageId"], json({{"imageDigest", b}}));

  ASSERT_EQ(r["failures"].size(), 4u);
  EXPECT_EQ(r["failures"][0], json({{"imageId", {{"imageTag", "missing"}}},
                                    {"failureCode", "ImageNotFound"},
                                    {"failureReason", "Requested image not found"}}));
  EXPECT_EQ(r["failures"][1]["failureCode"], "InvalidImageDigest");
  EXPECT_EQ(r["failures"][2]["failureCode"], "ImageTagDoesNotMatchDigest");
  EXPECT_EQ(r["failures"][2]["imageId"], json({{"imageDigest", b}, {"imageTag", "v1"}}));
  EXPECT_EQ(r["failures"][3], json({{"imageId", json::object()},
                                    {"failureCode", "MissingDigestAndTag"},
                                    {"failureReason", "Invalid request parameters: both tag and digest cannot be null"}}));
}

TEST_F(EcrImageOpsTest, BatchGetImageHonoursAcceptedMediaTypes) {
  pushImage("app", "v1", "a");  // OCI manifest
  auto docker = mustOk(batchGetImage(
      ctx(), req({{"imageIds", {{{"imageTag", "v1"}}}}, {"acceptedMediaTypes", {oci::kDockerManifest}}})));
  EXPECT_TRUE(docker["images"].empty());
  ASSERT_EQ(docker["failures"].size(), 1u);
  EXPECT_EQ(docker["failures"][0]["failureCode"], "ImageNotFound");
  auto oci = mustOk(batchGetImage(
      ctx(), req({{"imageIds", {{{"imageTag", "v1"}}}}, {"acceptedMediaTypes", {oci::kDockerManifest, oci::kOciManifest}}})));
  EXPECT_EQ(oci["images"].size(), 1u);
}

TEST_F(EcrImageOpsTest, BatchDeleteByTagDropsTheTagAndTheLastTagTakesTheImage) {
  std::string a = pushImage("app", "v1", "a");
  tag(a, "v2");
  auto first = mustOk(batchDeleteImage(ctx(), req({{"imageIds", {{{"imageTag", "v1"}}}}})));
  EXPECT_EQ(first["imageIds"], json::array({{{"imageDigest", a}, {"imageTag", "v1"}}}));
  EXPECT_TRUE(first["failures"].empty());
  EXPECT_TRUE(cache().get(keys::image("app", a)));  // v2 still names it

  auto last = mustOk(batchDeleteImage(ctx(), req({{"imageIds", {{{"imageTag", "v2"}}}}})));
  EXPECT_EQ(last["imageIds"], json::array({{{"imageDigest", a}, {"imageTag", "v2"}}}));
  EXPECT_FALSE(cache().get(keys::image("app", a)));
}

TEST_F(EcrImageOpsTest, BatchDeleteByDigestTakesAllTags) {
  std::string a = pushImage("app", "v1", "a");
  tag(a, "v2");
  std::string u = pushImage("app", "", "u");
  auto r = mustOk(batchDeleteImage(ctx(), req({{"imageIds", {{{"imageDigest", a}}, {{"imageDigest", u}}}}})));
  EXPECT_EQ(sortedIds(r["imageIds"]), (std::vector<std::string>{"-@" + u.substr(7, 6), "v1@" + a.substr(7, 6),
                                                                 "v2@" + a.substr(7, 6)}));
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("app")), 0u);
  EXPECT_EQ(cache().countPrefix(keys::tagsOf("app")), 0u);
}

TEST_F(EcrImageOpsTest, BatchDeleteFailures) {
  std::string a = pushImage("app", "v1", "a");
  std::string b = pushImage("app", "v2", "b");
  auto r = mustOk(batchDeleteImage(ctx(), req({{"imageIds",
                                                 {{{"imageTag", "nope"}},
                                                  json::object(),
                                                  {{"imageDigest", "md5:1"}},
                                                  {{"imageTag", "v1"}, {"imageDigest", b}},
                                                  {{"imageTag", "v2"}},
                                                  {{"imageTag", "v2"}}}}})));
  ASSERT_EQ(r["failures"].size(), 5u);
  EXPECT_EQ(r["failures"][0]["failureCode"], "ImageNotFound");
  EXPECT_EQ(r["failures"][1]["failureCode"], "MissingDigestAndTag");
  EXPECT_EQ(r["failures"][2]["failureCode"], "InvalidImageDigest");
  EXPECT_EQ(r["failures"][3]["failureCode"], "ImageTagDoesNotMatchDigest");
  EXPECT_EQ(r["failures"][4]["failureCode"], "ImageNotFound");  // v2 already deleted by the entry before
  EXPECT_EQ(r["imageIds"], json::array({{{"imageDigest", b}, {"imageTag", "v2"}}}));
  EXPECT_TRUE(cache().get(keys::image("app", a)));
  EXPECT_FALSE(cache().get(keys::image("app", b)));
}

TEST_F(EcrImageOpsTest, BatchDeleteKeepsImagesAnIndexLists) {
  std::string child = imageBody("app", "child");
  std::string childDigest = mustOk(put("app", "", child)).digest;
  std::string index = mustOk(put("app", "multi", indexBody({{childDigest, static_cast<std::int64_t>(child.size())}}))).digest;
  auto refused = mustOk(batchDeleteImage(ctx(), req({{"imageIds", {{{"imageDigest", childDigest}}}}})));
  ASSERT_EQ(refused["failures"].size(), 1u);
  EXPECT_EQ(refused["failures"][0]["failureCode"], "ImageReferencedByManifestList");
  EXPECT_EQ(refused["failures"][0]["failureReason"], "Requested image referenced by manifest list: [" + index + "]");
  EXPECT_TRUE(cache().get(keys::image("app", childDigest)));

  // The index first, then its image, in one call.
  auto both = mustOk(batchDeleteImage(ctx(), req({{"imageIds", {{{"imageTag", "multi"}}, {{"imageDigest", childDigest}}}}})));
  EXPECT_TRUE(both["failures"].empty());
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("app")), 0u);
}

TEST_F(EcrImageOpsTest, PutImageStoresTheManifestStringAsGiven) {
  std::string body = imageBody("app", "a");
  auto r = mustOk(putImage(ctx(), req({{"imageManifest", body}, {"imageTag", "v1"}})));
  const json& image = r["image"];
  EXPECT_EQ(image["registryId"], kAccount);
  EXPECT_EQ(image["repositoryName"], "app");
  EXPECT_EQ(image["imageId"], json({{"imageDigest", oci::digestOf(body).str()}, {"imageTag", "v1"}}));
  EXPECT_EQ(image["imageManifest"], body);
  EXPECT_EQ(image["imageManifestMediaType"], oci::kOciManifest);
  EXPECT_EQ(bodyOf("v1"), body);

  // Retagging through PutImage, as the AWS docs' retag recipe does.
  mustOk(putImage(ctx(), req({{"imageManifest", body}, {"imageTag", "v2"}})));
  EXPECT_EQ(mustOk(listTags(ctx(), "app")), (std::vector<std::string>{"v1", "v2"}));
}

TEST_F(EcrImageOpsTest, PutImageErrors) {
  std::string body = imageBody("app", "a");
  mustOk(putImage(ctx(), req({{"imageManifest", body}, {"imageTag", "v1"}})));
  const std::string digest = oci::digestOf(body).str();

  auto again = putImage(ctx(), req({{"imageManifest", body}, {"imageTag", "v1"}}));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kImageAlreadyExists);
  EXPECT_EQ(again.error().message, "Image with digest '" + digest +
                                       "' and tag 'v1' already exists in the repository with name 'app' in registry "
                                       "with id '123456789012'");

  auto mismatch = putImage(ctx(), req({{"imageManifest", body}, {"imageTag", "v3"}, {"imageDigest", oci::digestOf("x").str()}}));
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.error().code, ErrorCode::kImageDigestDoesNotMatch);
  mustOk(putImage(ctx(), req({{"imageManifest", body}, {"imageTag", "v3"}, {"imageDigest", digest}})));

  Blob config = linked("app", "c");
  auto layers = putImage(ctx(), req({{"imageManifest", manifestBody(config, {test::blobOf("absent")})}}));
  ASSERT_FALSE(layers.ok());
  EXPECT_EQ(layers.error().code, ErrorCode::kLayersNotFound);

  auto badTag = putImage(ctx(), req({{"imageManifest", body}, {"imageTag", "a:b"}}));
  ASSERT_FALSE(badTag.ok());
  EXPECT_EQ(badTag.error().code, ErrorCode::kInvalidParameter);
  EXPECT_EQ(badTag.error().message, invalidImageTagMessage());

  // Without a mediaType in the manifest, ECR needs imageManifestMediaType.
  json bare = json::parse(body);
  bare.erase("mediaType");
  auto noType = putImage(ctx(), req({{"imageManifest", bare.dump()}}));
  ASSERT_FALSE(noType.ok());
  EXPECT_EQ(noType.error().code, ErrorCode::kInvalidParameter);
  auto typed = mustOk(putImage(ctx(), req({{"imageManifest", bare.dump()}, {"imageManifestMediaType", oci::kOciManifest}})));
  EXPECT_EQ(typed["image"]["imageManifestMediaType"], oci::kOciManifest);

  createRepo("locked", "IMMUTABLE");
  mustOk(putImage(ctx(), {{"repositoryName", "locked"}, {"imageManifest", imageBody("locked", "one")}, {"imageTag", "v1"}}));
  auto immutable = putImage(ctx(), {{"repositoryName", "locked"}, {"imageManifest", imageBody("locked", "two")}, {"imageTag", "v1"}});
  ASSERT_FALSE(immutable.ok());
  EXPECT_EQ(immutable.error().code, ErrorCode::kImageTagAlreadyExists);
}

TEST_F(EcrImageOpsTest, BatchCheckLayerAvailability) {
  Blob config = linked("app", "config");
  Blob layer = linked("app", "layer");
  mustOk(put("app", "v1", manifestBody(config, {layer})));
  Blob uploaded = linked("app", "uploaded, not referenced yet");
  const std::string absent = test::blobOf("absent").digest;
  auto r = mustOk(batchCheckLayerAvailability(
      ctx(), req({{"layerDigests", {layer.digest, uploaded.digest, absent, "", "sha256:zz"}}})));
  ASSERT_EQ(r["layers"].size(), 3u);
  EXPECT_EQ(r["layers"][0], json({{"layerDigest", layer.digest},
                                  {"layerAvailability", "AVAILABLE"},
                                  {"layerSize", layer.size},
                                  {"mediaType", oci::kOciLayerTarGzip}}));
  EXPECT_EQ(r["layers"][1], json({{"layerDigest", uploaded.digest}, {"layerAvailability", "AVAILABLE"}, {"layerSize", uploaded.size}}));
  EXPECT_EQ(r["layers"][2], json({{"layerDigest", absent}, {"layerAvailability", "UNAVAILABLE"}}));
  ASSERT_EQ(r["failures"].size(), 2u);
  EXPECT_EQ(r["failures"][0]["failureCode"], "MissingLayerDigest");
  EXPECT_EQ(r["failures"][1]["failureCode"], "InvalidLayerDigest");
  EXPECT_EQ(r["failures"][1]["layerDigest"], "sha256:zz");
}

}  // namespace
}  // namespace berth::registry

#include "registry/manifest_refs.h"

#include <gtest/gtest.h>

#include "oci/digest.h"
#include "oci/media_types.h"

namespace berth::registry {
namespace {

using nlohmann::json;

const std::string kA = oci::digestOf("a").str();
const std::string kB = oci::digestOf("b").str();
const std::string kC = oci::digestOf("c").str();

json desc(std::string_view mediaType, const std::string& digest, int size) {
  return json{{"mediaType", mediaType}, {"digest", digest}, {"size", size}};
}

TEST(ManifestRefs, DockerSchema2Image) {
  json m = {{"schemaVersion", 2},
            {"mediaType", oci::kDockerManifest},
            {"config", desc(oci::kDockerConfig, kA, 10)},
            {"layers", {desc(oci::kDockerLayerTarGzip, kB, 20), desc(oci::kDockerLayerTarGzip, kB, 20)}}};
  auto r = parseManifestRefs(m.dump(), "");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->mediaType, oci::kDockerManifest);
  EXPECT_FALSE(r->isIndex);
  EXPECT_EQ(r->requiredBlobs(), (std::vector<std::string>{kA, kB}));  // duplicates once
  EXPECT_EQ(r->artifactType, oci::kDockerConfig);  // no artifactType: the config's type
}

TEST(ManifestRefs, OciArtifactWithAnyMediaTypesAndSubject) {
  json m = {{"schemaVersion", 2},
            {"mediaType", oci::kOciManifest},
            {"artifactType", "application/vnd.example.sbom+json"},
            {"config", desc("application/vnd.oci.empty.v1+json", kA, 2)},
            {"layers", {desc("application/spdx+json", kB, 99)}},
            {"subject", desc(oci::kOciManifest, kC, 500)},
            {"annotations", {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}}}};
  auto r = parseManifestRefs(m.dump(), oci::kOciManifest);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->artifactType, "application/vnd.example.sbom+json");
  ASSERT_TRUE(r->subject);
  EXPECT_EQ(*r->subject, kC);
  EXPECT_EQ(r->annotations["org.opencontainers.image.created"], "2024-01-01T00:00:00Z");
}

TEST(ManifestRefs, IndexChildren) {
  json idx = {{"schemaVersion", 2}, {"mediaType", oci::kOciIndex}, {"manifests", {desc(oci::kOciManifest, kA, 300)}}};
  auto r = parseManifestRefs(idx.dump(), "application/json");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_TRUE(r->isIndex);
  ASSERT_EQ(r->manifests.size(), 1u);
  EXPECT_EQ(r->manifests[0].digest, kA);
  EXPECT_TRUE(r->requiredBlobs().empty());
}

TEST(ManifestRefs, MediaTypeFromContentTypeOrShape) {
  json m = {{"schemaVersion", 2}, {"config", desc(oci::kOciConfig, kA, 1)}, {"layers", json::array()}};
  auto fromHeader = parseManifestRefs(m.dump(), std::string(oci::kDockerManifest) + "; charset=utf-8");
  ASSERT_TRUE(fromHeader.ok()) << fromHeader.error().message;
  EXPECT_EQ(fromHeader->mediaType, oci::kDockerManifest);
  EXPECT_FALSE(fromHeader->mediaTypeInferred);
  auto fromShape = parseManifestRefs(m.dump(), "");
  ASSERT_TRUE(fromShape.ok());
  EXPECT_EQ(fromShape->mediaType, oci::kOciManifest);
  EXPECT_TRUE(fromShape->mediaTypeInferred);
}

TEST(ManifestRefs, ExternalLayersAreNotRequired) {
  json foreign = desc(oci::kDockerForeignLayerTarGzip, kB, 5);
  foreign["urls"] = {"https://example.com/layer"};
  json m = {{"schemaVersion", 2},
            {"mediaType", oci::kDockerManifest},
            {"config", desc(oci::kDockerConfig, kA, 1)},
            {"layers", {foreign}}};
  auto r = parseManifestRefs(m.dump(), "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->requiredBlobs(), std::vector<std::string>{kA});
}

void expectInvalid(const std::string& body, std::string_view contentType, std::string_view messagePart) {
  auto r = parseManifestRefs(body, contentType);
  ASSERT_FALSE(r.ok()) << body;
  EXPECT_EQ(r.error().code, ErrorCode::kManifestInvalid);
  EXPECT_NE(r.error().message.find(messagePart), std::string::npos) << r.error().message;
}

TEST(ManifestRefs, Refusals) {
  json image = {{"schemaVersion", 2},
                {"mediaType", oci::kOciManifest},
                {"config", desc(oci::kOciConfig, kA, 1)},
                {"layers", json::array()}};
  expectInvalid("not json", "", "not a JSON object");
  expectInvalid(R"({"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]})", "", "schema 1");
  expectInvalid(image.dump(), oci::kDockerManifestV1Signed, "schema 1");
  expectInvalid(image.dump(), oci::kDockerManifest, "does not match");
  expectInvalid(json{{"schemaVersion", 2}, {"mediaType", "application/vnd.oci.artifact.manifest.v1+json"}}.dump(), "",
                "unsupported manifest media type");
  json badDigest = image;
  badDigest["config"]["digest"] = "sha256:XYZ";
  expectInvalid(badDigest.dump(), "", "config.digest");
  json badSize = image;
  badSize["layers"] = {{{"mediaType", oci::kOciLayerTar}, {"digest", kB}, {"size", -1}}};
  expectInvalid(badSize.dump(), "", "layers[0].size");
  json noLayers = image;
  noLayers.erase("layers");
  expectInvalid(noLayers.dump(), "", "layers must be an array");
  json noManifests = {{"schemaVersion", 2}, {"mediaType", oci::kOciIndex}};
  expectInvalid(noManifests.dump(), "", "manifests must be an array");
  expectInvalid(R"({"schemaVersion":2})", "", "does not tell");
}

TEST(ManifestRefs, TooLarge) {
  std::string body = R"({"schemaVersion":2,"x":")" + std::string(4 * 1024 * 1024, 'a') + "\"}";
  auto r = parseManifestRefs(body, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPayloadTooLarge);
}

}  // namespace
}  // namespace berth::registry

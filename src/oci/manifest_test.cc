#include "oci/manifest.h"

#include <gtest/gtest.h>

#include "oci/media_types.h"

namespace berth::oci {
namespace {

using nlohmann::json;

const std::string kD1 = "sha256:" + std::string(64, '1');
const std::string kD2 = "sha256:" + std::string(64, '2');
const std::string kD3 = "sha256:" + std::string(64, '3');

json ociManifest() {
  return {{"schemaVersion", 2},
          {"mediaType", kOciManifest},
          {"config", {{"mediaType", kOciConfig}, {"digest", kD1}, {"size", 100}}},
          {"layers",
           {{{"mediaType", kOciLayerTarGzip}, {"digest", kD2}, {"size", 2000}},
            {{"mediaType", kOciLayerTarZstd}, {"digest", kD3}, {"size", 3000}}}}};
}

TEST(MediaTypesTest, Classifies) {
  EXPECT_TRUE(isManifestMediaType(kOciManifest));
  EXPECT_TRUE(isManifestMediaType(kDockerManifest));
  EXPECT_FALSE(isManifestMediaType(kOciIndex));
  EXPECT_TRUE(isIndexMediaType(kOciIndex));
  EXPECT_TRUE(isIndexMediaType(kDockerManifestList));
  EXPECT_TRUE(isConfigMediaType(kDockerConfig));
  EXPECT_TRUE(isLayerMediaType(kDockerLayerTarGzip));
  EXPECT_FALSE(isLayerMediaType("application/vnd.cncf.helm.chart.content.v1.tar+gzip"));
  EXPECT_EQ(layerCompression(kOciLayerTar), LayerCompression::kNone);
  EXPECT_EQ(layerCompression(kOciLayerTarGzip), LayerCompression::kGzip);
  EXPECT_EQ(layerCompression(kDockerLayerTarGzip), LayerCompression::kGzip);
  EXPECT_EQ(layerCompression(kOciLayerNondistributableTarZstd), LayerCompression::kZstd);
}

TEST(ManifestTest, ParsesOciManifest) {
  auto m = parseManifest(ociManifest().dump(), kOciManifest);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->mediaType, kOciManifest);
  EXPECT_EQ(m->config.digest.str(), kD1);
  ASSERT_EQ(m->layers.size(), 2u);
  EXPECT_EQ(m->layers[1].mediaType, kOciLayerTarZstd);
  EXPECT_EQ(m->layers[1].size, 3000);
}

TEST(ManifestTest, ParsesDockerManifestWithGenericContentType) {
  json j = ociManifest();
  j["mediaType"] = kDockerManifest;
  j["config"]["mediaType"] = kDockerConfig;
  j["layers"] = json::array({{{"mediaType", kDockerLayerTarGzip}, {"digest", kD2}, {"size", 5}}});
  auto r = parseManifestOrIndex(j.dump(), "application/json; charset=utf-8");
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_TRUE(std::holds_alternative<Manifest>(*r));
  EXPECT_EQ(std::get<Manifest>(*r).mediaType, kDockerManifest);
}

TEST(ManifestTest, InfersTypeWhenMediaTypeMissing) {
  json j = ociManifest();
  j.erase("mediaType");
  auto r = parseManifestOrIndex(j.dump());
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::holds_alternative<Manifest>(*r));
  json idx = {{"schemaVersion", 2}, {"manifests", json::array()}};
  auto i = parseManifestOrIndex(idx.dump());
  ASSERT_TRUE(i.ok());
  EXPECT_TRUE(std::holds_alternative<Index>(*i));
  // Content-Type fills the gap when the body has none.
  auto viaHeader = parseManifestOrIndex(j.dump(), kDockerManifest);
  ASSERT_TRUE(viaHeader.ok());
  EXPECT_EQ(std::get<Manifest>(*viaHeader).mediaType, kDockerManifest);
}

TEST(ManifestTest, RejectsInvalid) {
  auto mutate = [](auto f) {
    json j = ociManifest();
    f(j);
    return j.dump();
  };
  std::vector<std::pair<std::string, std::string>> bad = {
      {"not json", ""},
      {"[1,2]", ""},
      {mutate([](json& j) { j["schemaVersion"] = 1; }), ""},
      {mutate([](json& j) { j["schemaVersion"] = 3; }), ""},
      {mutate([](json& j) { j.erase("schemaVersion"); }), ""},
      {mutate([](json& j) { j.erase("config"); }), ""},
      {mutate([](json& j) { j["config"]["digest"] = "sha256:abc"; }), ""},
      {mutate([](json& j) { j["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json"; }), ""},
      {mutate([](json& j) { j["layers"][0]["size"] = -1; }), ""},
      {mutate([](json& j) { j["layers"][0]["size"] = "12"; }), ""},
      {mutate([](json& j) { j["layers"][0]["mediaType"] = "application/x-tar-lz4"; }), ""},
      {mutate([](json& j) { j["layers"] = json::object(); }), ""},
      {mutate([](json& j) { j["mediaType"] = "application/vnd.example+json"; }), ""},
      {ociManifest().dump(), std::string(kDockerManifest)},  // body says OCI, header says Docker
      {ociManifest().dump(), std::string(kDockerManifestV1Signed)},
  };
  for (const auto& [body, ct] : bad) {
    EXPECT_FALSE(parseManifestOrIndex(body, ct).ok()) << body << " / " << ct;
  }
  EXPECT_FALSE(parseIndex(ociManifest().dump()).ok());
}

TEST(ManifestTest, RefusesOversizedManifest) {
  json j = ociManifest();
  j["annotations"] = {{"pad", std::string(kMaxManifestBytes, 'x')}};
  auto r = parseManifestOrIndex(j.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kPayloadTooLarge);
}

TEST(ManifestTest, ParsesIndexWithPlatforms) {
  json idx = {{"schemaVersion", 2},
              {"mediaType", kDockerManifestList},
              {"manifests",
               {{{"mediaType", kDockerManifest},
                 {"digest", kD1},
                 {"size", 10},
                 {"platform", {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}}}},
                {{"mediaType", kDockerManifest},
                 {"digest", kD2},
                 {"size", 10},
                 {"platform", {{"os", "linux"}, {"architecture", "amd64"}, {"os.features", {"sse4"}}}}}}}};
  auto i = parseIndex(idx.dump(), kDockerManifestList);
  ASSERT_TRUE(i.ok()) << i.error().message;
  ASSERT_EQ(i->manifests.size(), 2u);
  EXPECT_EQ(i->manifests[0].platform->variant, "v8");
  EXPECT_EQ(i->manifests[1].platform->osFeatures, std::vector<std::string>{"sse4"});
  idx["manifests"][0]["platform"]["os"] = 5;
  EXPECT_FALSE(parseIndex(idx.dump()).ok());
}

TEST(ImageConfigTest, Parses) {
  json cfg = {{"architecture", "amd64"},
              {"os", "linux"},
              {"config", {{"Env", {"PATH=/bin"}}, {"Cmd", {"sh"}}, {"StopSignal", "SIGQUIT"}}},
              {"rootfs", {{"type", "layers"}, {"diff_ids", {kD2, kD3}}}}};
  auto c = parseImageConfig(cfg.dump());
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->platform.str(), "linux/amd64");
  EXPECT_EQ(c->config["StopSignal"], "SIGQUIT");
  ASSERT_EQ(c->diffIds.size(), 2u);
  EXPECT_EQ(c->diffIds[0].str(), kD2);

  json noConfig = cfg;
  noConfig.erase("config");
  EXPECT_TRUE(parseImageConfig(noConfig.dump()).ok());
  json badRootfs = cfg;
  badRootfs["rootfs"]["type"] = "zip";
  EXPECT_FALSE(parseImageConfig(badRootfs.dump()).ok());
  json badDiff = cfg;
  badDiff["rootfs"]["diff_ids"] = {"sha256:nope"};
  EXPECT_FALSE(parseImageConfig(badDiff.dump()).ok());
  json noOs = cfg;
  noOs.erase("os");
  EXPECT_FALSE(parseImageConfig(noOs.dump()).ok());
}

}  // namespace
}  // namespace berth::oci

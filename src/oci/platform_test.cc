#include "oci/platform.h"

#include <gtest/gtest.h>

#include "oci/media_types.h"

namespace berth::oci {
namespace {

Descriptor entry(char digestChar, std::string os, std::string arch, std::string variant = "",
                 std::string_view mediaType = kOciManifest) {
  Descriptor d;
  d.mediaType = std::string(mediaType);
  d.digest = *Digest::parse("sha256:" + std::string(64, digestChar));
  d.size = 1;
  Platform p;
  p.os = std::move(os);
  p.architecture = std::move(arch);
  p.variant = std::move(variant);
  d.platform = p;
  return d;
}

TEST(PlatformTest, Normalises) {
  Platform p;
  p.os = "Linux";
  p.architecture = "x86_64";
  EXPECT_EQ(normalizePlatform(p).str(), "linux/amd64");
  p.architecture = "aarch64";
  EXPECT_EQ(normalizePlatform(p).str(), "linux/arm64");
  p.architecture = "arm64";
  p.variant = "v8";
  EXPECT_EQ(normalizePlatform(p).str(), "linux/arm64");
  p.architecture = "armhf";
  p.variant = "";
  EXPECT_EQ(normalizePlatform(p).str(), "linux/arm/v7");
  p.architecture = "amd64";
  p.variant = "v1";
  EXPECT_EQ(normalizePlatform(p).str(), "linux/amd64");
}

TEST(PlatformTest, SelectsLinuxAmd64) {
  Index idx;
  idx.manifests = {entry('1', "linux", "arm64", "v8"), entry('2', "windows", "amd64"), entry('3', "linux", "amd64"),
                   entry('4', "linux", "amd64")};
  auto d = selectManifest(idx, defaultPlatform());
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->digest.hex()[0], '3');  // first match wins a tie
}

TEST(PlatformTest, PrefersExactVariant) {
  Index idx;
  idx.manifests = {entry('1', "linux", "arm", ""), entry('2', "linux", "arm", "v6"), entry('3', "linux", "arm", "v7")};
  Platform want{"linux", "arm", "v7", "", {}};
  auto d = selectManifest(idx, want);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->digest.hex()[0], '3');
  // amd64/v3 images do not run on a baseline amd64 node; v1 does.
  Index amd;
  amd.manifests = {entry('5', "linux", "amd64", "v3"), entry('6', "linux", "amd64", "v1")};
  auto a = selectManifest(amd, defaultPlatform());
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->digest.hex()[0], '6');
}

TEST(PlatformTest, SkipsAttestationsAndReportsAvailable) {
  Index idx;
  Descriptor att = entry('9', "unknown", "unknown");
  idx.manifests = {entry('1', "linux", "arm64"), att, entry('2', "linux", "s390x")};
  Descriptor noPlatform = entry('7', "linux", "amd64");
  noPlatform.platform.reset();
  idx.manifests.push_back(noPlatform);
  idx.manifests.push_back(entry('8', "linux", "amd64", "", kOciIndex));  // nested index: skipped
  auto d = selectManifest(idx, defaultPlatform());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error().code, ErrorCode::kNotFound);
  EXPECT_NE(d.error().message.find("linux/arm64"), std::string::npos);
  EXPECT_NE(d.error().message.find("linux/amd64"), std::string::npos);
}

}  // namespace
}  // namespace berth::oci

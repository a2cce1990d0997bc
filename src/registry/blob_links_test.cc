#include <gtest/gtest.h>

#include "registry/image_ops.h"
#include "registry/keys.h"
#include "registry/testing/interposing_store.h"
#include "registry/testing/registry_fixture.h"

namespace berth::registry {
namespace {

using nlohmann::json;
using test::Blob;
using test::mustOk;

constexpr std::chrono::seconds kGrace{3600};

class BlobLinksTest : public test::RegistryFixture {
 protected:
  void SetUp() override { createRepo("app"); }
};

TEST_F(BlobLinksTest, LinkLookUpUnlink) {
  Blob b = test::blobOf("content");
  EXPECT_FALSE(linkedBlobSize(ctx(), "app", b.digest));
  mustOk(linkBlob(ctx(), "app", b.digest, 7));
  EXPECT_EQ(linkedBlobSize(ctx(), "app", b.digest), std::optional<std::uint64_t>(7));
  EXPECT_TRUE(isLinkedAnywhere(ctx(), b.digest));
  EXPECT_EQ(linkedDigests(ctx()), std::unordered_set<std::string>{b.digest});

  auto noRepo = linkBlob(ctx(), "nope", b.digest, 7);
  ASSERT_FALSE(noRepo.ok());
  EXPECT_EQ(noRepo.error().code, ErrorCode::kRepositoryNotFound);

  mustOk(unlinkBlob(ctx(), "app", b.digest));
  EXPECT_FALSE(linkedBlobSize(ctx(), "app", b.digest));
  EXPECT_FALSE(isLinkedAnywhere(ctx(), b.digest));
  auto again = unlinkBlob(ctx(), "app", b.digest);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, ErrorCode::kBlobUnknown);
}

TEST_F(BlobLinksTest, LinkedAnywhereLooksAcrossRepositoriesByExactDigest) {
  createRepo("app/sub");
  Blob b = linked("app/sub", "content");
  EXPECT_TRUE(isLinkedAnywhere(ctx(), b.digest));
  EXPECT_FALSE(isLinkedAnywhere(ctx(), test::blobOf("other").digest));
  EXPECT_EQ(linkedDigests(ctx()).count(b.digest), 1u);
}

TEST_F(BlobLinksTest, PushingAManifestTouchesItsLinks) {
  Blob config = linked("app", "config");
  Blob layer = linked("app", "layer");
  auto before = cache().get(keys::link("app", layer.digest));
  clock().advance(std::chrono::seconds(30));
  mustOk(put("app", "v1", manifestBody(config, {layer})));
  auto after = cache().get(keys::link("app", layer.digest));
  EXPECT_GT(after->modRevision, before->modRevision);
  EXPECT_DOUBLE_EQ(after->doc["referencedAt"].get<double>(), clock().epochSeconds());
  EXPECT_EQ(after->doc["mediaType"], oci::kOciLayerTarGzip);
  EXPECT_EQ(after->doc["size"], layer.size);
}

TEST_F(BlobLinksTest, PruneRespectsGraceAndReferences) {
  Blob config = linked("app", "config");
  Blob layer = linked("app", "layer");
  std::string digest = mustOk(put("app", "v1", manifestBody(config, {layer}))).digest;
  Blob abandoned = linked("app", "abandoned upload");
  clock().advance(kGrace - std::chrono::seconds(1));
  Blob recent = linked("app", "recent upload");

  EXPECT_EQ(pruneUnreferencedLinks(ctx(), kGrace), 0u);  // nothing old enough yet
  clock().advance(std::chrono::seconds(2));
  EXPECT_EQ(pruneUnreferencedLinks(ctx(), kGrace), 1u);
  EXPECT_FALSE(linkedBlobSize(ctx(), "app", abandoned.digest));
  EXPECT_TRUE(linkedBlobSize(ctx(), "app", recent.digest));
  EXPECT_TRUE(linkedBlobSize(ctx(), "app", config.digest));  // referenced: kept however old
  EXPECT_TRUE(linkedBlobSize(ctx(), "app", layer.digest));

  // Once the image is gone its links are only as young as their last use:
  // the push, more than the grace period ago.
  mustOk(deleteImages(ctx(), "app", {digest}));
  EXPECT_EQ(pruneUnreferencedLinks(ctx(), kGrace), 2u);
  EXPECT_TRUE(linkedBlobSize(ctx(), "app", recent.digest));
  clock().advance(kGrace);
  EXPECT_EQ(pruneUnreferencedLinks(ctx(), kGrace), 1u);
  EXPECT_EQ(cache().countPrefix(keys::linksOf("app")), 0u);
}

TEST_F(BlobLinksTest, PruneLosesToAManifestPushedAfterItLooked) {
  Blob config = linked("app", "config");
  Blob layer = linked("app", "layer");
  clock().advance(kGrace * 2);
  // The pruner reads both links as stale and unreferenced; before its first
  // delete commits, a manifest referencing them is pushed. That push touched
  // the links, so the pruner's compares fail and nothing is removed.
  test::InterposingStore racing(store());
  control::EcsContext pruner{racing, cache(), clock(), env_->random, ctx().account};
  racing.beforeNextTxn([&] { mustOk(put("app", "v1", manifestBody(config, {layer}))); });
  EXPECT_EQ(pruneUnreferencedLinks(pruner, kGrace), 0u);
  EXPECT_EQ(racing.txnCount(), 2);  // it did try both deletes
  EXPECT_TRUE(linkedBlobSize(ctx(), "app", config.digest));
  EXPECT_TRUE(linkedBlobSize(ctx(), "app", layer.digest));
  EXPECT_EQ(mustOk(getManifest(ctx(), "app", "v1")).body, manifestBody(config, {layer}));
}

TEST_F(BlobLinksTest, APushLosesToAPruneThatCommittedFirst) {
  Blob config = linked("app", "config");
  Blob layer = linked("app", "layer");
  clock().advance(kGrace * 2);
  // The push read both links; the pruner removes them before the push commits:
  // the push's compares fail, it rebuilds, and reports the layers missing.
  test::InterposingStore racing(store());
  control::EcsContext pusher{racing, cache(), clock(), env_->random, ctx().account};
  racing.beforeNextTxn([&] { EXPECT_EQ(pruneUnreferencedLinks(ctx(), kGrace), 2u); });
  auto r = putManifest(pusher, PutManifestRequest{"app", "v1", "", manifestBody(config, {layer}), std::nullopt, false});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kLayersNotFound);
  EXPECT_EQ(cache().countPrefix(keys::imagesOf("app")), 0u);
}

TEST_F(BlobLinksTest, PruneRemovesLinksOfVanishedRepositories) {
  env_->putDoc(keys::link("gone", test::blobOf("x").digest), {{"size", 1}, {"linkedAt", clock().epochSeconds()}});
  clock().advance(kGrace * 2);
  EXPECT_EQ(pruneUnreferencedLinks(ctx(), kGrace), 1u);
  EXPECT_EQ(cache().countPrefix(std::string(keys::kLinkPrefix)), 0u);
}

}  // namespace
}  // namespace berth::registry

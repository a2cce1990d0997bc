#include "registry/layer_ops.h"

#include <gtest/gtest.h>

#include "control/testing/ecs_fixture.h"
#include "oci/digest.h"
#include "registry/keys.h"

namespace berth::registry {
namespace {

using control::test::EcsFixture;
using control::test::kAccount;
using control::test::mustOk;
using control::test::TempDir;
using nlohmann::json;

constexpr std::uint64_t kMiB = 1024 * 1024;
const std::string kBase = "http://127.0.0.1:8080";

std::string base64(std::string_view in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t v = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) | std::uint8_t(in[i + 2]);
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
  }
  if (in.size() - i == 1) {
    std::uint32_t v = std::uint8_t(in[i]) << 16;
    out += {a[v >> 18], a[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    std::uint32_t v = (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8);
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
  }
  return out;
}

// Deterministic, non-repeating-ish content of `n` bytes.
std::string bytes(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31 + (i >> 8));
  return s;
}

class LayerOpsTest : public EcsFixture {
 protected:
  LayerOpsTest() {
    blobs_ = mustOkPtr(blobstore::BlobStore::open(dir_.file("blobs"), clock(), env_->random));
    api_ = std::make_unique<LayerUploadApi>(ctx(), *blobs_, kBase);
  }
  static std::unique_ptr<blobstore::BlobStore> mustOkPtr(Result<std::unique_ptr<blobstore::BlobStore>> r) {
    if (!r.ok()) throw std::runtime_error("open blob store: " + r.error().message);
    return std::move(r).value();
  }

  void putRepo(const std::string& name) {
    env_->putDoc(keys::repo(name), {{"repositoryName", name}, {"registryId", kAccount}, {"createdAt", 1.0}});
  }
  std::string initiate(const std::string& repo) {
    json r = mustOk(api_->initiateLayerUpload({{"repositoryName", repo}}), "InitiateLayerUpload");
    return r.value("uploadId", "");
  }
  Result<json> part(const std::string& repo, const std::string& id, std::uint64_t first, const std::string& data) {
    return api_->uploadLayerPart({{"repositoryName", repo},
                                  {"uploadId", id},
                                  {"partFirstByte", first},
                                  {"partLastByte", first + data.size() - 1},
                                  {"layerPartBlob", base64(data)}});
  }
  Result<json> complete(const std::string& repo, const std::string& id, const std::string& digest) {
    return api_->completeLayerUpload({{"repositoryName", repo}, {"uploadId", id}, {"layerDigests", json::array({digest})}});
  }
  // A whole layer in one part; returns its digest.
  std::string pushLayer(const std::string& repo, const std::string& data) {
    const std::string id = initiate(repo);
    mustOk(part(repo, id, 0, data), "UploadLayerPart");
    const std::string digest = oci::digestOf(data).str();
    mustOk(complete(repo, id, digest), "CompleteLayerUpload");
    return digest;
  }
  std::uint64_t received(const std::string& id) {
    auto s = blobs_->uploadState(id);
    return s.ok() ? s->size : 0;
  }
  static void expectCode(const Result<json>& r, ErrorCode code) {
    ASSERT_FALSE(r.ok()) << r->dump();
    EXPECT_EQ(r.error().code, code) << errorCodeName(r.error().code) << ": " << r.error().message;
  }

  TempDir dir_;
  std::unique_ptr<blobstore::BlobStore> blobs_;
  std::unique_ptr<LayerUploadApi> api_;
};

TEST_F(LayerOpsTest, InitiateAnswersAnUploadIdAndThePartSize) {
  putRepo("team/app");
  json r = mustOk(api_->initiateLayerUpload({{"repositoryName", "team/app"}}));
  EXPECT_FALSE(r["uploadId"].get<std::string>().empty());
  EXPECT_EQ(r["partSize"], 10 * kMiB);
  EXPECT_TRUE(blobs_->uploadState(r["uploadId"]).ok());

  auto missing = api_->initiateLayerUpload({{"repositoryName", "ghost"}});
  expectCode(missing, ErrorCode::kRepositoryNotFound);
  EXPECT_EQ(missing.error().message, "The repository with name 'ghost' does not exist in the registry with id '123456789012'");
}

TEST_F(LayerOpsTest, OnePartUploadIsCommittedAndLinked) {
  putRepo("team/app");
  const std::string data = bytes(1000, 'a');
  const std::string digest = oci::digestOf(data).str();
  const std::string id = initiate("team/app");

  json p = mustOk(part("team/app", id, 0, data));
  EXPECT_EQ(p, (json{{"registryId", kAccount}, {"repositoryName", "team/app"}, {"uploadId", id}, {"lastByteReceived", 999}}));
  json c = mustOk(complete("team/app", id, digest));
  EXPECT_EQ(c, (json{{"registryId", kAccount}, {"repositoryName", "team/app"}, {"uploadId", id}, {"layerDigest", digest}}));

  auto parsed = *oci::Digest::parse(digest);
  EXPECT_EQ(mustOk(blobs_->readSmall(parsed, 4096)), data);
  auto link = cache().get(keys::link("team/app", digest));
  ASSERT_TRUE(link);
  EXPECT_EQ(link->doc["size"], 1000);
  EXPECT_DOUBLE_EQ(link->doc["linkedAt"].get<double>(), clock().epochSeconds());
  EXPECT_FALSE(blobs_->uploadState(id).ok());  // the upload is finished
  expectCode(complete("team/app", id, digest), ErrorCode::kUploadNotFound);
}

TEST_F(LayerOpsTest, PartsOfAtLeastFiveMiBThenAShortLastPart) {
  putRepo("app");
  const std::string p1 = bytes(5 * kMiB, 'x'), p2 = bytes(5 * kMiB + 7, 'y'), p3 = bytes(10, 'z');
  const std::string id = initiate("app");
  EXPECT_EQ(mustOk(part("app", id, 0, p1))["lastByteReceived"], 5 * kMiB - 1);
  EXPECT_EQ(mustOk(part("app", id, 5 * kMiB, p2))["lastByteReceived"], 10 * kMiB + 6);
  EXPECT_EQ(mustOk(part("app", id, 10 * kMiB + 7, p3))["lastByteReceived"], 10 * kMiB + 16);
  const std::string digest = oci::digestOf(p1 + p2 + p3).str();
  mustOk(complete("app", id, digest));
  EXPECT_EQ(mustOk(blobs_->stat(*oci::Digest::parse(digest))), 10 * kMiB + 17);
}

TEST_F(LayerOpsTest, APartAfterAShortPartIsTooSmall) {
  putRepo("app");
  const std::string id = initiate("app");
  mustOk(part("app", id, 0, bytes(4 * kMiB, 'a')));
  auto r = part("app", id, 4 * kMiB, bytes(100, 'b'));
  expectCode(r, ErrorCode::kLayerPartTooSmall);
  EXPECT_EQ(received(id), 4 * kMiB);  // nothing appended
}

TEST_F(LayerOpsTest, OutOfOrderPartsAreInvalidWithTheLastValidByte) {
  putRepo("app");
  const std::string id = initiate("app");
  // Nothing received yet: a part that does not start at 0.
  auto r = part("app", id, 10, bytes(10, 'a'));
  expectCode(r, ErrorCode::kUploadInvalid);
  mustOk(part("app", id, 0, bytes(5 * kMiB, 'a')));

  auto gap = part("app", id, 5 * kMiB + 1, bytes(10, 'b'));
  expectCode(gap, ErrorCode::kUploadInvalid);
  json extra = json::parse(gap.error().context);
  EXPECT_EQ(extra, (json{{"registryId", kAccount}, {"repositoryName", "app"}, {"uploadId", id},
                         {"lastValidByteReceived", 5 * kMiB - 1}}));
  EXPECT_NE(gap.error().message.find("The last valid byte received is 5242879."), std::string::npos);

  auto overlap = part("app", id, 5 * kMiB - 3, bytes(10, 'b'));
  expectCode(overlap, ErrorCode::kUploadInvalid);
  EXPECT_EQ(received(id), 5 * kMiB);
}

TEST_F(LayerOpsTest, PartRangeMustMatchTheBlobSize) {
  putRepo("app");
  const std::string id = initiate("app");
  auto r = api_->uploadLayerPart({{"repositoryName", "app"}, {"uploadId", id}, {"partFirstByte", 0},
                                  {"partLastByte", 99}, {"layerPartBlob", base64(bytes(50, 'a'))}});
  expectCode(r, ErrorCode::kUploadInvalid);
  r = api_->uploadLayerPart({{"repositoryName", "app"}, {"uploadId", id}, {"partFirstByte", 5},
                             {"partLastByte", 4}, {"layerPartBlob", ""}});
  expectCode(r, ErrorCode::kUploadInvalid);
  r = api_->uploadLayerPart({{"repositoryName", "app"}, {"uploadId", id}, {"partFirstByte", 0},
                             {"partLastByte", 2}, {"layerPartBlob", "not base64!"}});
  expectCode(r, ErrorCode::kSerialization);
  r = api_->uploadLayerPart({{"repositoryName", "app"}, {"uploadId", id}, {"partFirstByte", -1},
                             {"partLastByte", 2}, {"layerPartBlob", base64("abc")}});
  expectCode(r, ErrorCode::kInvalidParameter);
  EXPECT_EQ(received(id), 0u);
}

TEST_F(LayerOpsTest, Base64WithPaddingRoundTrips) {
  putRepo("app");
  for (std::size_t n : {1u, 2u, 3u, 4u, 5u, 255u}) {
    const std::string data = bytes(n, static_cast<char>('a' + n));
    const std::string digest = pushLayer("app", data);
    EXPECT_EQ(mustOk(blobs_->readSmall(*oci::Digest::parse(digest), 4096)), data) << n;
  }
}

TEST_F(LayerOpsTest, UnknownUploadsAndRepositories) {
  putRepo("app");
  putRepo("other");
  const std::string id = initiate("app");
  expectCode(part("app", "00000000-0000-4000-8000-000000000000", 0, "abc"), ErrorCode::kUploadNotFound);
  // An upload belongs to the repository that initiated it.
  expectCode(part("other", id, 0, "abc"), ErrorCode::kUploadNotFound);
  expectCode(complete("other", id, oci::digestOf("abc").str()), ErrorCode::kUploadNotFound);
  expectCode(part("ghost", id, 0, "abc"), ErrorCode::kRepositoryNotFound);
  expectCode(complete("ghost", id, oci::digestOf("abc").str()), ErrorCode::kRepositoryNotFound);
  mustOk(part("app", id, 0, "abc"));  // still usable by its own repository
}

TEST_F(LayerOpsTest, CompleteRefusesEmptyUploadsAndBadDigestLists) {
  putRepo("app");
  const std::string id = initiate("app");
  expectCode(complete("app", id, oci::digestOf("").str()), ErrorCode::kEmptyUpload);
  mustOk(part("app", id, 0, "abc"));
  const std::string d = oci::digestOf("abc").str();
  expectCode(api_->completeLayerUpload({{"repositoryName", "app"}, {"uploadId", id}, {"layerDigests", json::array({d, d})}}),
             ErrorCode::kInvalidParameter);
  expectCode(api_->completeLayerUpload({{"repositoryName", "app"}, {"uploadId", id}, {"layerDigests", json::array()}}),
             ErrorCode::kInvalidParameter);
  expectCode(complete("app", id, "sha256:nothex"), ErrorCode::kInvalidParameter);
  mustOk(complete("app", id, d));  // none of that consumed the upload
}

TEST_F(LayerOpsTest, DigestMismatchIsInvalidLayerAndDiscardsTheUpload) {
  putRepo("app");
  const std::string id = initiate("app");
  mustOk(part("app", id, 0, "abc"));
  const std::string wrong = oci::digestOf("abd").str();
  auto r = complete("app", id, wrong);
  expectCode(r, ErrorCode::kDigestInvalid);
  EXPECT_FALSE(blobs_->exists(*oci::Digest::parse(wrong)));
  EXPECT_FALSE(blobs_->exists(*oci::Digest::parse(oci::digestOf("abc").str())));
  EXPECT_FALSE(cache().get(keys::link("app", wrong)));
  expectCode(complete("app", id, oci::digestOf("abc").str()), ErrorCode::kUploadNotFound);
}

TEST_F(LayerOpsTest, LayerAlreadyInTheRepository) {
  putRepo("app");
  putRepo("other");
  const std::string data = bytes(300, 'q');
  const std::string digest = pushLayer("app", data);

  const std::string id = initiate("app");
  mustOk(part("app", id, 0, data));
  auto r = complete("app", id, digest);
  expectCode(r, ErrorCode::kLayerAlreadyExists);
  EXPECT_EQ(r.error().message, "The layer '" + digest +
                                   "' already exists in the repository with name 'app' in the registry with id '123456789012'");
  EXPECT_FALSE(blobs_->uploadState(id).ok());  // the redundant copy is dropped

  // The same content in another repository is a new layer there.
  EXPECT_EQ(pushLayer("other", data), digest);
  EXPECT_TRUE(cache().get(keys::link("other", digest)));
}

TEST_F(LayerOpsTest, RelinkingKeepsReferencedAt) {
  putRepo("app");
  const std::string data = "content swept from disk";
  const std::string digest = oci::digestOf(data).str();
  // A link whose blob is gone (swept) does not count as an existing layer.
  env_->putDoc(keys::link("app", digest), {{"size", 1}, {"linkedAt", 5.0}, {"referencedAt", 6.0}});
  pushLayer("app", data);
  auto link = cache().get(keys::link("app", digest));
  ASSERT_TRUE(link);
  EXPECT_EQ(link->doc["size"], data.size());
  EXPECT_EQ(link->doc["referencedAt"], 6.0);
  EXPECT_DOUBLE_EQ(link->doc["linkedAt"].get<double>(), clock().epochSeconds());
}

TEST_F(LayerOpsTest, CompleteFailsWhenTheRepositoryIsDeletedMeanwhile) {
  putRepo("app");
  const std::string id = initiate("app");
  mustOk(part("app", id, 0, "abc"));
  env_->deleteKey(keys::repo("app"));
  expectCode(complete("app", id, oci::digestOf("abc").str()), ErrorCode::kRepositoryNotFound);
  EXPECT_FALSE(cache().get(keys::link("app", oci::digestOf("abc").str())));
}

TEST_F(LayerOpsTest, UploadsSurviveARestartOfTheApi) {
  putRepo("app");
  const std::string id = initiate("app");
  const std::string p1 = bytes(5 * kMiB, 'r'), p2 = bytes(42, 's');
  mustOk(part("app", id, 0, p1));
  // A new LayerUploadApi over the same BlobStore has no memory of the upload.
  api_ = std::make_unique<LayerUploadApi>(ctx(), *blobs_, kBase);
  mustOk(part("app", id, 5 * kMiB, p2));
  mustOk(complete("app", id, oci::digestOf(p1 + p2).str()));
}

TEST_F(LayerOpsTest, DownloadUrlForALinkedLayerOfAnImage) {
  putRepo("team/app");
  const std::string digest = pushLayer("team/app", "layer bytes");
  env_->putDoc(keys::image("team/app", oci::digestOf("manifest").str()),
               {{"imageDigest", oci::digestOf("manifest").str()}, {"blobs", json::array({digest})}});
  json r = mustOk(api_->getDownloadUrlForLayer({{"repositoryName", "team/app"}, {"layerDigest", digest}}));
  EXPECT_EQ(r, (json{{"downloadUrl", kBase + "/v2/team/app/blobs/" + digest}, {"layerDigest", digest}}));
}

TEST_F(LayerOpsTest, DownloadUrlErrors) {
  putRepo("app");
  putRepo("other");
  const std::string digest = pushLayer("other", "only in other");
  auto r = api_->getDownloadUrlForLayer({{"repositoryName", "app"}, {"layerDigest", digest}});
  expectCode(r, ErrorCode::kLayersNotFound);  // not linked here, even though the registry has it
  expectCode(api_->getDownloadUrlForLayer({{"repositoryName", "app"}, {"layerDigest", oci::digestOf("never").str()}}),
             ErrorCode::kLayersNotFound);
  // Linked to "other" but no image there uses it yet.
  r = api_->getDownloadUrlForLayer({{"repositoryName", "other"}, {"layerDigest", digest}});
  expectCode(r, ErrorCode::kLayerInaccessible);
  expectCode(api_->getDownloadUrlForLayer({{"repositoryName", "app"}, {"layerDigest", "md5:abc"}}),
             ErrorCode::kInvalidParameter);
  expectCode(api_->getDownloadUrlForLayer({{"repositoryName", "ghost"}, {"layerDigest", digest}}),
             ErrorCode::kRepositoryNotFound);
}

}  // namespace
}  // namespace berth::registry

#pragma once
// Images (manifests and indexes), tags and blob links of ECR repositories.
// The typed functions are shared by the OCI distribution endpoints (/v2/) and
// the ECR API; the JSON ops implement the ECR image operations.
//
// Rules both APIs share:
// - Manifests are stored byte-exact; the digest is sha256 of the bytes.
// - A manifest may only reference blobs linked into its repository (config and
//   layers: kLayersNotFound, i.e. MANIFEST_BLOB_UNKNOWN) and, for an index,
//   manifests present in the repository (kReferencedImagesNotFound).
//   Referenced blobs of any media type are accepted (OCI artifacts).
// - IMMUTABLE repositories refuse moving an existing tag to another digest
//   (kImageTagAlreadyExists with ECR's message); re-pushing the same digest
//   under the same tag is idempotent on /v2/ and kImageAlreadyExists on PutImage.
// - A manifest with a "subject" is indexed for the referrers API even when the
//   subject is not (yet) in the repository.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "control/ecs_context.h"

namespace berth::registry {

using control::EcsContext;

struct PutManifestRequest {
  std::string repository;
  std::string reference;    // a tag, a digest ("sha256:…", must match the body), or empty (untagged)
  std::string contentType;  // HTTP Content-Type or ECR imageManifestMediaType; may be empty if the body has mediaType
  std::string body;
  std::optional<std::string> expectedDigest;  // ECR PutImage imageDigest (kImageDigestDoesNotMatch)
  bool ecrPutImage = false;                    // same manifest + same tag again → kImageAlreadyExists
};

struct PutManifestResult {
  std::string digest;     // "sha256:…"
  std::string mediaType;  // as stored (Content-Type for GET)
  std::optional<std::string> subject;
  nlohmann::json image;   // the ECR Image shape: registryId, repositoryName, imageId, imageManifest, imageManifestMediaType
};

Result<PutManifestResult> putManifest(EcsContext& ctx, const PutManifestRequest& request);

struct StoredManifest {
  std::string digest;
  std::string mediaType;
  std::string body;
};
// reference: tag or digest. kRepositoryNotFound / kImageNotFound.
Result<StoredManifest> getManifest(const EcsContext& ctx, std::string_view repository, std::string_view reference);

// Records a pull of the image in lastRecordedPullTime (DescribeImages). Like ECR,
// which refreshes it "at least once every 24 hours", a pull within
// kPullTimeRefresh of the recorded one writes nothing, so pulls don't turn into
// a write each. Unknown images are ignored (the pull itself reports them).
inline constexpr std::chrono::hours kPullTimeRefresh{1};
Status recordImagePull(EcsContext& ctx, std::string_view repository, std::string_view digest);

// By digest: the image and every tag pointing at it (kImageNotFound if absent;
// kDenied while an index of the repository lists it, as ECR refuses with
// ImageReferencedByManifestList). By tag: the tag only (the image stays, possibly untagged).
Status deleteManifest(EcsContext& ctx, std::string_view repository, std::string_view reference);
// Deletes these images (and their tags) in one transaction; unknown digests are
// skipped, and so are images an index that is not being deleted still lists.
Status deleteImages(EcsContext& ctx, std::string_view repository, const std::vector<std::string>& digests);

// Tags of a repository in lexical order (kRepositoryNotFound).
Result<std::vector<std::string>> listTags(const EcsContext& ctx, std::string_view repository);
// Every repository name in lexical order (the /v2/_catalog).
std::vector<std::string> listRepositoryNames(const EcsContext& ctx);
// OCI referrers: an image index (mediaType application/vnd.oci.image.index.v1+json)
// whose "manifests" are descriptors of the repository's manifests whose subject is
// `digest` (each with mediaType, digest, size, artifactType, annotations); filtered by
// artifactType when non-empty. Empty list when none. kRepositoryNotFound.
Result<nlohmann::json> referrers(const EcsContext& ctx, std::string_view repository, std::string_view digest,
                                 std::string_view artifactType);

// --- blob links --------------------------------------------------------------
// Size of a blob linked into the repository, or nullopt.
std::optional<std::uint64_t> linkedBlobSize(const EcsContext& ctx, std::string_view repository,
                                            std::string_view digest);
// Records that the blob is usable in the repository (kRepositoryNotFound).
Status linkBlob(EcsContext& ctx, std::string_view repository, std::string_view digest, std::uint64_t size);
// kBlobUnknown when not linked.
Status unlinkBlob(EcsContext& ctx, std::string_view repository, std::string_view digest);
// Every digest linked into any repository (one scan; for garbage collection).
std::unordered_set<std::string> linkedDigests(const EcsContext& ctx);
// Live check for one digest (used under the blob lock when sweeping).
bool isLinkedAnywhere(const EcsContext& ctx, std::string_view digest);
// Removes links that no manifest of their repository references and that were
// linked/referenced more than `grace` ago (abandoned pushes, deleted images).
// Each removal compares on the link's revision. Returns how many were removed.
// (Implemented with the other link functions in blob_links.cc.)
std::size_t pruneUnreferencedLinks(EcsContext& ctx, std::chrono::seconds grace);

// --- ECR API (JSON ops, ecr_image_ops.cc) ---------------------------------------
Result<nlohmann::json> listImages(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> describeImages(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> batchGetImage(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> batchDeleteImage(EcsContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> putImage(EcsContext& ctx, const nlohmann::json& request);
// Layer availability from the repository's links.
Result<nlohmann::json> batchCheckLayerAvailability(EcsContext& ctx, const nlohmann::json& request);

}  // namespace berth::registry

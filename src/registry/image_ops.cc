#include "registry/image_ops.h"

#include <algorithm>
#include <set>

#include "control/committer.h"
#include "oci/digest.h"
#include "oci/media_types.h"
#include "registry/ecr_errors.h"
#include "registry/image_catalog.h"
#include "registry/keys.h"
#include "registry/manifest_refs.h"
#include "registry/repository_ops.h"

namespace berth::registry {
namespace {

using nlohmann::json;

struct Reference {
  std::optional<std::string> tag;
  std::optional<std::string> digest;
};

// A tag cannot contain ':', so anything with one is meant as a digest.
Result<Reference> parseReference(std::string_view reference) {
  Reference r;
  if (reference.empty()) return r;
  if (reference.find(':') != std::string_view::npos) {
    auto d = oci::Digest::parse(reference);
    if (!d.ok()) return Error::make(ErrorCode::kDigestInvalid, d.error().message, std::string(reference));
    r.digest = d->str();
    return r;
  }
  if (!isValidTag(reference))
    return Error::make(ErrorCode::kTagInvalid, invalidImageTagMessage(), std::string(reference));
  r.tag = std::string(reference);
  return r;
}

std::int64_t manifestImageSize(const ManifestRefs& refs) {
  std::int64_t size = refs.config ? refs.config->size : 0;
  for (const auto& l : refs.layers) size += l.size;
  return size;
}

// The new image document; children must already be known to size an index.
json imageDocument(const ManifestRefs& refs, const std::string& digest, const std::string& body, double now,
                   std::int64_t sizeInBytes) {
  json doc = {
      {"imageDigest", digest},
      {"imageManifestMediaType", refs.mediaType},
      {"manifest", body},
      {"imageSizeInBytes", sizeInBytes},
      {"imagePushedAt", now},
      {"blobs", refs.requiredBlobs()},
  };
  if (refs.config) doc["artifactMediaType"] = refs.config->mediaType;
  if (!refs.artifactType.empty()) doc["artifactType"] = refs.artifactType;
  json children = json::array();
  for (const auto& m : refs.manifests) children.push_back(m.digest);
  doc["children"] = children;
  if (refs.subject) doc["subject"] = *refs.subject;
  if (refs.annotations.is_object() && !refs.annotations.empty()) doc["annotations"] = refs.annotations;
  return doc;
}

std::string mediaTypeOfBlob(const ManifestRefs& refs, const std::string& digest) {
  if (refs.config && refs.config->digest == digest) return refs.config->mediaType;
  for (const auto& l : refs.layers)
    if (l.digest == digest) return l.mediaType;
  return {};
}

// What putManifest adds to a transaction for a manifest not yet in the
// repository: every referenced blob link is rewritten ("touched") under a
// compare on its revision, so a link pruner that read the link before this
// push cannot delete it afterwards, and a link pruned first fails this push.
Status addNewImage(EcsContext& ctx, const PutManifestRequest& request, const ManifestRefs& refs,
                   const std::string& digest, store::TxnRequest& txn) {
  const double now = ctx.clock.epochSeconds();
  std::vector<std::string> missing;
  for (const auto& blob : refs.requiredBlobs()) {
    const std::string key = keys::link(request.repository, blob);
    auto link = ctx.cache.get(key);
    if (!link) {
      missing.push_back(blob);
      continue;
    }
    json touched = link->doc;
    touched["referencedAt"] = now;
    if (auto mt = mediaTypeOfBlob(refs, blob); !mt.empty()) touched["mediaType"] = mt;
    txn.compares.push_back({key, link->modRevision});
    txn.ops.push_back(store::Op::put(key, touched.dump()));
  }
  if (!missing.empty()) return ecr_errors::layersNotFound(ctx.account.accountId, request.repository, missing);

  std::int64_t size = manifestImageSize(refs);
  std::set<std::string> seenChildren;
  for (const auto& child : refs.manifests) {
    if (!seenChildren.insert(child.digest).second) continue;
    const std::string key = keys::image(request.repository, child.digest);
    auto image = ctx.cache.get(key);
    if (!image) {
      missing.push_back(child.digest);
      continue;
    }
    // An index's size is its largest image's (ECR's ImageDetail.imageSizeInBytes).
    size = std::max<std::int64_t>(size, image->doc.value("imageSizeInBytes", std::int64_t{0}));
    txn.compares.push_back({key, image->modRevision});
  }
  if (!missing.empty())
    return ecr_errors::referencedImagesNotFound(ctx.account.accountId, request.repository, missing);

  const std::string imageKey = keys::image(request.repository, digest);
  txn.compares.push_back({imageKey, 0});
  txn.ops.push_back(store::Op::put(imageKey, imageDocument(refs, digest, request.body, now, size).dump()));
  return okStatus();
}

Result<std::string> verifiedDigest(const PutManifestRequest& request, const Reference& ref) {
  const std::string digest = oci::digestOf(request.body).str();
  if (ref.digest && *ref.digest != digest) {
    if (ref.digest->rfind("sha256:", 0) != 0)
      return Error::make(ErrorCode::kDigestInvalid, "manifests are addressed by their sha256 digest; use " + digest,
                         *ref.digest);
    return Error::make(ErrorCode::kDigestInvalid,
                       "the manifest's digest " + digest + " does not match the reference " + *ref.digest, *ref.digest);
  }
  if (request.expectedDigest && *request.expectedDigest != digest)
    return ecr_errors::imageDigestDoesNotMatch(*request.expectedDigest, digest);
  return digest;
}

json ecrImage(const EcsContext& ctx, const std::string& repository, const std::string& digest,
              const std::optional<std::string>& tag, const std::string& manifest, const std::string& mediaType) {
  json imageId = {{"imageDigest", digest}};
  if (tag) imageId["imageTag"] = *tag;
  return json{{"registryId", ctx.account.accountId},
              {"repositoryName", repository},
              {"imageId", imageId},
              {"imageManifest", manifest},
              {"imageManifestMediaType", mediaType}};
}

Status requireRepository(const EcsContext& ctx, std::string_view repository) {
  if (!ctx.cache.get(keys::repo(repository))) return ecr_errors::repositoryNotFound(ctx.account.accountId, repository);
  return okStatus();
}

}  // namespace

Result<PutManifestResult> putManifest(EcsContext& ctx, const PutManifestRequest& request) {
  auto ref = parseReference(request.reference);
  if (!ref.ok()) return ref.takeError();
  auto refs = parseManifestRefs(request.body, request.contentType);
  if (!refs.ok()) return refs.takeError();
  if (request.ecrPutImage && refs->mediaTypeInferred)
    return ecr_errors::invalidParameter(
        "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'must be specified when the image "
        "manifest has no mediaType'");
  auto digest = verifiedDigest(request, *ref);
  if (!digest.ok()) return digest.takeError();

  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    store::TxnRequest txn;
    auto repo = ctx.cache.get(keys::repo(request.repository));
    if (!repo) return ecr_errors::repositoryNotFound(ctx.account.accountId, request.repository);
    // Pinned so a mutability change or a repository deletion in between
    // makes this attempt rebuild from the new state.
    txn.compares.push_back({keys::repo(request.repository), repo->modRevision});
    const bool immutable = repo->doc.value("imageTagMutability", "MUTABLE") == "IMMUTABLE";

    const std::string imageKey = keys::image(request.repository, *digest);
    auto existing = ctx.cache.get(imageKey);
    if (ref->tag) {
      const std::string tagKey = keys::tag(request.repository, *ref->tag);
      auto current = ctx.cache.get(tagKey);
      const bool sameImage = current && current->doc.value("imageDigest", "") == *digest;
      if (sameImage && request.ecrPutImage)
        return ecr_errors::imageAlreadyExists(ctx.account.accountId, request.repository, *digest, ref->tag);
      if (current && !sameImage && immutable) return ecr_errors::imageTagAlreadyExists(request.repository, *ref->tag);
      txn.compares.push_back(control::pinned(ctx.cache, tagKey));
      if (!sameImage)
        txn.ops.push_back(store::Op::put(
            tagKey, json{{"imageDigest", *digest}, {"updatedAt", ctx.clock.epochSeconds()}}.dump()));
    } else if (existing && request.ecrPutImage) {
      return ecr_errors::imageAlreadyExists(ctx.account.accountId, request.repository, *digest, std::nullopt);
    }

    if (existing) {
      // Same bytes, same digest: nothing to store; the compare keeps a
      // concurrent delete from leaving the new tag dangling.
      txn.compares.push_back({imageKey, existing->modRevision});
    } else {
      BERTH_TRY(addNewImage(ctx, request, *refs, *digest, txn));
    }
    return txn;
  });
  if (!txn.ok()) return txn.takeError();

  PutManifestResult result;
  result.digest = *digest;
  result.mediaType = refs->mediaType;
  result.subject = refs->subject;
  result.image = ecrImage(ctx, request.repository, *digest, ref->tag, request.body, refs->mediaType);
  return result;
}

Result<StoredManifest> getManifest(const EcsContext& ctx, std::string_view repository, std::string_view reference) {
  BERTH_TRY(requireRepository(ctx, repository));
  auto ref = parseReference(reference);
  if (!ref.ok()) return ref.takeError();
  std::string digest;
  if (ref->digest) {
    digest = *ref->digest;
  } else if (ref->tag) {
    auto tag = ctx.cache.get(keys::tag(repository, *ref->tag));
    if (!tag) return ecr_errors::requestedImageNotFound();
    digest = tag->doc.value("imageDigest", "");
  } else {
    return ecr_errors::requestedImageNotFound();
  }
  auto image = ctx.cache.get(keys::image(repository, digest));
  if (!image) return ecr_errors::requestedImageNotFound();
  return StoredManifest{digest, image->doc.value("imageManifestMediaType", ""), image->doc.value("manifest", "")};
}

Status recordImagePull(EcsContext& ctx, std::string_view repository, std::string_view digest) {
  const std::string key = keys::image(repository, digest);
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    store::TxnRequest txn;
    auto image = ctx.cache.get(key);
    if (!image) return txn;  // deleted meanwhile: nothing to record
    const double now = std::chrono::duration<double>(ctx.clock.now().time_since_epoch()).count();
    const double last = image->doc.value("lastRecordedPullTime", 0.0);
    if (now - last < std::chrono::duration<double>(kPullTimeRefresh).count()) return txn;
    nlohmann::json doc = image->doc;
    doc["lastRecordedPullTime"] = now;
    txn.compares.push_back({key, image->modRevision});
    txn.ops.push_back(store::Op::put(key, doc.dump()));
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return okStatus();
}

Status deleteManifest(EcsContext& ctx, std::string_view repository, std::string_view reference) {
  auto ref = parseReference(reference);
  if (!ref.ok()) return ref.takeError();
  if (!ref->tag && !ref->digest) return ecr_errors::requestedImageNotFound();
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    BERTH_TRY(requireRepository(ctx, repository));
    store::TxnRequest txn;
    if (ref->tag) {
      const std::string key = keys::tag(repository, *ref->tag);
      auto tag = ctx.cache.get(key);
      if (!tag) return ecr_errors::requestedImageNotFound();
      txn.compares.push_back({key, tag->modRevision});
      txn.ops.push_back(store::Op::del(key));
      return txn;
    }
    ImageCatalog catalog = loadImageCatalog(ctx.cache, repository);
    const CatalogImage* image = catalog.find(*ref->digest);
    if (!image) return ecr_errors::requestedImageNotFound();
    if (auto p = catalog.parents.find(*ref->digest); p != catalog.parents.end())
      return Error::make(ErrorCode::kDenied, ecr_errors::reasonReferencedByManifestList(p->second) +
                                                 "; delete the manifest list first",
                         *ref->digest);
    const std::string imageKey = keys::image(repository, *ref->digest);
    txn.compares.push_back({imageKey, image->modRevision});
    txn.ops.push_back(store::Op::del(imageKey));
    for (const auto& tag : image->tags) {
      txn.compares.push_back({keys::tag(repository, tag), catalog.tags.at(tag).modRevision});
      txn.ops.push_back(store::Op::del(keys::tag(repository, tag)));
    }
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return okStatus();
}

Status deleteImages(EcsContext& ctx, std::string_view repository, const std::vector<std::string>& digests) {
  const std::set<std::string> doomed(digests.begin(), digests.end());
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    BERTH_TRY(requireRepository(ctx, repository));
    ImageCatalog catalog = loadImageCatalog(ctx.cache, repository);
    store::TxnRequest txn;
    for (const auto& digest : doomed) {
      const CatalogImage* image = catalog.find(digest);
      if (!image) continue;
      // An image that a surviving index lists stays: deleting it would break the index.
      if (auto p = catalog.parents.find(digest); p != catalog.parents.end() &&
          std::any_of(p->second.begin(), p->second.end(), [&](const std::string& d) { return !doomed.count(d); }))
        continue;
      txn.compares.push_back({keys::image(repository, digest), image->modRevision});
      txn.ops.push_back(store::Op::del(keys::image(repository, digest)));
      for (const auto& tag : image->tags) {
        txn.compares.push_back({keys::tag(repository, tag), catalog.tags.at(tag).modRevision});
        txn.ops.push_back(store::Op::del(keys::tag(repository, tag)));
      }
    }
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return okStatus();
}

Result<std::vector<std::string>> listTags(const EcsContext& ctx, std::string_view repository) {
  BERTH_TRY(requireRepository(ctx, repository));
  std::vector<std::string> out;
  const std::string prefix = keys::tagsOf(repository);
  ctx.cache.scan(prefix, "", [&](const std::string& key, const control::CachedObject&) {
    out.push_back(keySuffix(key, prefix));
    return true;
  });
  return out;
}

std::vector<std::string> listRepositoryNames(const EcsContext& ctx) {
  std::vector<std::string> out;
  ctx.cache.scan(std::string(keys::kRepoPrefix), "", [&](const std::string& key, const control::CachedObject&) {
    out.push_back(keySuffix(key, keys::kRepoPrefix));
    return true;
  });
  return out;
}

Result<json> referrers(const EcsContext& ctx, std::string_view repository, std::string_view digest,
                       std::string_view artifactType) {
  BERTH_TRY(requireRepository(ctx, repository));
  auto subject = oci::Digest::parse(digest);
  if (!subject.ok()) return Error::make(ErrorCode::kDigestInvalid, subject.error().message, std::string(digest));
  json manifests = json::array();
  ctx.cache.scan(keys::imagesOf(repository), "", [&](const std::string&, const control::CachedObject& obj) {
    const json& doc = obj.doc;
    if (doc.value("subject", "") != subject->str()) return true;
    const std::string type = doc.value("artifactType", "");
    if (!artifactType.empty() && type != artifactType) return true;
    json d = {{"mediaType", doc.value("imageManifestMediaType", "")},
              {"digest", doc.value("imageDigest", "")},
              {"size", doc.value("manifest", "").size()}};
    if (!type.empty()) d["artifactType"] = type;
    if (auto a = doc.find("annotations"); a != doc.end() && a->is_object() && !a->empty()) d["annotations"] = *a;
    manifests.push_back(std::move(d));
    return true;
  });
  return json{{"schemaVersion", 2}, {"mediaType", oci::kOciIndex}, {"manifests", manifests}};
}

}  // namespace berth::registry

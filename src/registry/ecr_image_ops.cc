// The ECR API's image operations (ListImages, DescribeImages, BatchGetImage,
// BatchDeleteImage, PutImage, BatchCheckLayerAvailability), declared in
// image_ops.h. They read one repository's catalog (image_catalog.h) and write
// through putManifest or a single compare-on-revision transaction.
#include <algorithm>
#include <set>

#include "control/committer.h"
#include "control/json_fields.h"
#include "control/pagination.h"
#include "oci/digest.h"
#include "registry/ecr_errors.h"
#include "registry/image_catalog.h"
#include "registry/image_ops.h"
#include "registry/keys.h"
#include "registry/repository_ops.h"

namespace berth::registry {
namespace {

using control::optString;
using nlohmann::json;

enum class TagFilter { kAny, kTagged, kUntagged };

Result<TagFilter> tagFilterFrom(const json& request) {
  const json* filter = control::optField(request, "filter");
  auto status = filter ? optString(*filter, "tagStatus") : std::nullopt;
  if (!status || *status == "ANY") return TagFilter::kAny;
  if (*status == "TAGGED") return TagFilter::kTagged;
  if (*status == "UNTAGGED") return TagFilter::kUntagged;
  return ecr_errors::invalidParameter(
      "Invalid parameter at 'filter.tagStatus' failed to satisfy constraint: 'Member must satisfy enum value set: "
      "[TAGGED, UNTAGGED, ANY]'");
}

bool passes(TagFilter filter, const CatalogImage& image) {
  if (filter == TagFilter::kTagged) return !image.tags.empty();
  if (filter == TagFilter::kUntagged) return image.tags.empty();
  return true;
}

Status noPaginationWithImageIds(const json& request) {
  if (control::optField(request, "maxResults") || control::optField(request, "nextToken"))
    return ecr_errors::invalidParameter(
        "Invalid parameter: maxResults and nextToken cannot be used together with imageIds");
  return okStatus();
}

// An imageId from a request, members kept as given (absent = nullopt).
struct ImageId {
  std::optional<std::string> digest;
  std::optional<std::string> tag;
  json asJson() const {
    json j = json::object();
    if (digest) j["imageDigest"] = *digest;
    if (tag) j["imageTag"] = *tag;
    return j;
  }
};

ImageId imageIdFrom(const json& j) { return ImageId{optString(j, "imageDigest"), optString(j, "imageTag")}; }

json failure(const ImageId& id, std::string_view code, std::string_view reason) {
  return json{{"imageId", id.asJson()}, {"failureCode", code}, {"failureReason", reason}};
}

// Resolves an imageId against the catalog, or says why not (a BatchGetImage /
// BatchDeleteImage failure).
struct Resolved {
  const CatalogImage* image = nullptr;
  std::string digest;
  json failure;
};

Resolved resolve(const ImageCatalog& catalog, const ImageId& id) {
  Resolved r;
  if (!id.digest && !id.tag) {
    r.failure = failure(id, "MissingDigestAndTag", ecr_errors::kReasonMissingDigestAndTag);
    return r;
  }
  if (id.digest && !oci::Digest::parse(*id.digest).ok()) {
    r.failure = failure(id, "InvalidImageDigest", ecr_errors::reasonInvalidDigest());
    return r;
  }
  if (id.tag && !isValidTag(*id.tag)) {
    r.failure = failure(id, "InvalidImageTag",
                        "Invalid request parameters: image tag should satisfy the regex '" + std::string(kImageTagPattern) + "'");
    return r;
  }
  if (id.tag) {
    auto t = catalog.tags.find(*id.tag);
    if (t == catalog.tags.end()) {
      r.failure = failure(id, "ImageNotFound", ecr_errors::kReasonImageNotFound);
      return r;
    }
    if (id.digest && *id.digest != t->second.digest) {
      r.failure = failure(id, "ImageTagDoesNotMatchDigest", ecr_errors::reasonTagDoesNotMatchDigest());
      return r;
    }
    r.digest = t->second.digest;
  } else {
    r.digest = *id.digest;
  }
  r.image = catalog.find(r.digest);
  if (!r.image) r.failure = failure(id, "ImageNotFound", ecr_errors::kReasonImageNotFound);
  return r;
}

json imageDetail(const EcsContext& ctx, const std::string& repository, const CatalogImage& image) {
  const json& doc = image.doc;
  json d = {{"registryId", ctx.account.accountId},
            {"repositoryName", repository},
            {"imageDigest", doc.value("imageDigest", "")},
            {"imageSizeInBytes", doc.value("imageSizeInBytes", std::int64_t{0})},
            {"imagePushedAt", doc.value("imagePushedAt", 0.0)},
            {"imageManifestMediaType", doc.value("imageManifestMediaType", "")}};
  if (!image.tags.empty()) d["imageTags"] = image.tags;
  for (const char* member : {"artifactMediaType", "lastRecordedPullTime"})
    if (auto it = doc.find(member); it != doc.end()) d[member] = *it;
  return d;
}

}  // namespace

Result<json> listImages(EcsContext& ctx, const json& request) {
  auto repo = repositoryFromRequest(ctx, request);
  if (!repo.ok()) return repo.takeError();
  auto filter = tagFilterFrom(request);
  if (!filter.ok()) return filter.takeError();
  auto page = control::pageRequestFrom(request, 100, 1000);
  if (!page.ok()) return page.takeError();

  // One imageId per tag, then one per untagged image, as ECR lists them.
  ImageCatalog catalog = loadImageCatalog(ctx.cache, repo->name);
  std::vector<json> items;
  if (*filter != TagFilter::kUntagged)
    for (const auto& [tag, t] : catalog.tags)
      if (catalog.find(t.digest)) items.push_back(json{{"imageDigest", t.digest}, {"imageTag", tag}});
  if (*filter != TagFilter::kTagged)
    for (const auto& [digest, image] : catalog.images)
      if (image.tags.empty()) items.push_back(json{{"imageDigest", digest}});

  auto result = control::paginateVector(std::move(items), "ecr:ListImages:" + repo->name, *page, [](const json& id) {
    return id.contains("imageTag") ? "t:" + id["imageTag"].get<std::string>()
                                   : "d:" + id["imageDigest"].get<std::string>();
  });
  if (!result.ok()) return result.takeError();
  json out = {{"imageIds", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

Result<json> describeImages(EcsContext& ctx, const json& request) {
  auto repo = repositoryFromRequest(ctx, request);
  if (!repo.ok()) return repo.takeError();
  auto filter = tagFilterFrom(request);
  if (!filter.ok()) return filter.takeError();
  ImageCatalog catalog = loadImageCatalog(ctx.cache, repo->name);

  json ids = control::arrayOrEmpty(request, "imageIds");
  if (!ids.empty()) {
    BERTH_TRY(noPaginationWithImageIds(request));
    json details = json::array();
    std::set<std::string> seen;
    for (const auto& j : ids) {
      ImageId id = imageIdFrom(j);
      Resolved r = resolve(catalog, id);
      if (!r.image) {
        if (r.failure.value("failureCode", "") == "ImageNotFound" ||
            r.failure.value("failureCode", "") == "ImageTagDoesNotMatchDigest")
          return ecr_errors::imageNotFound(ctx.account.accountId, repo->name, id.digest, id.tag);
        return ecr_errors::invalidParameter(r.failure.value("failureReason", ""));
      }
      if (passes(*filter, *r.image) && seen.insert(r.digest).second)
        details.push_back(imageDetail(ctx, repo->name, *r.image));
    }
    return json{{"imageDetails", details}};
  }

  auto page = control::pageRequestFrom(request, 100, 1000);
  if (!page.ok()) return page.takeError();
  std::vector<json> items;
  for (const auto& [digest, image] : catalog.images)
    if (passes(*filter, image)) items.push_back(imageDetail(ctx, repo->name, image));
  auto result = control::paginateVector(std::move(items), "ecr:DescribeImages:" + repo->name, *page,
                                        [](const json& d) { return d["imageDigest"].get<std::string>(); });
  if (!result.ok()) return result.takeError();
  json out = {{"imageDetails", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

Result<json> batchGetImage(EcsContext& ctx, const json& request) {
  auto repo = repositoryFromRequest(ctx, request);
  if (!repo.ok()) return repo.takeError();
  std::set<std::string> accepted;
  for (const auto& m : control::arrayOrEmpty(request, "acceptedMediaTypes"))
    if (m.is_string()) accepted.insert(m.get<std::string>());
  ImageCatalog catalog = loadImageCatalog(ctx.cache, repo->name);

  json images = json::array(), failures = json::array();
  std::set<std::pair<std::optional<std::string>, std::optional<std::string>>> seen;
  for (const auto& j : control::arrayOrEmpty(request, "imageIds")) {
    ImageId id = imageIdFrom(j);
    if (!seen.insert({id.digest, id.tag}).second) continue;
    Resolved r = resolve(catalog, id);
    if (!r.image) {
      failures.push_back(r.failure);
      continue;
    }
    const std::string mediaType = r.image->doc.value("imageManifestMediaType", "");
    // Berth stores manifests as pushed and converts none (no schema 1 downgrade).
    if (!accepted.empty() && !accepted.count(mediaType)) {
      failures.push_back(failure(id, "ImageNotFound",
                                 "Requested image not found in an accepted media type: it is stored as '" + mediaType +
                                     "'"));
      continue;
    }
    json imageId = {{"imageDigest", r.digest}};
    if (id.tag) imageId["imageTag"] = *id.tag;
    images.push_back(json{{"registryId", ctx.account.accountId},
                          {"repositoryName", repo->name},
                          {"imageId", imageId},
                          {"imageManifest", r.image->doc.value("manifest", "")},
                          {"imageManifestMediaType", mediaType}});
  }
  return json{{"images", images}, {"failures", failures}};
}

Result<json> batchDeleteImage(EcsContext& ctx, const json& request) {
  json deleted, failures;
  std::string name;
  auto txn = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto repo = repositoryFromRequest(ctx, request);
    if (!repo.ok()) return repo.takeError();
    name = repo->name;
    deleted = json::array();
    failures = json::array();
    // Requests apply in order to a working copy of the catalog, so deleting an
    // index and then its children in one call works, and a tag named twice
    // fails the second time as it would in two calls.
    ImageCatalog catalog = loadImageCatalog(ctx.cache, name);
    store::TxnRequest txn;
    std::set<std::string> touched;
    auto pin = [&](const std::string& key, std::int64_t revision) {
      if (touched.insert(key).second) txn.compares.push_back({key, revision});
    };
    auto dropTag = [&](const std::string& tag) {
      const std::string key = keys::tag(name, tag);
      pin(key, catalog.tags.at(tag).modRevision);
      txn.ops.push_back(store::Op::del(key));
      auto& tags = catalog.images[catalog.tags.at(tag).digest].tags;
      tags.erase(std::remove(tags.begin(), tags.end(), tag), tags.end());
      catalog.tags.erase(tag);
    };
    auto dropImage = [&](const std::string& digest) {
      const std::string key = keys::image(name, digest);
      pin(key, catalog.images.at(digest).modRevision);
      txn.ops.push_back(store::Op::del(key));
      for (const auto& child : catalog.images.at(digest).doc.value("children", json::array())) {
        if (!child.is_string()) continue;
        auto& parents = catalog.parents[child.get<std::string>()];
        parents.erase(std::remove(parents.begin(), parents.end(), digest), parents.end());
        if (parents.empty()) catalog.parents.erase(child.get<std::string>());
      }
      catalog.images.erase(digest);
    };
    auto referencedBy = [&](const std::string& digest) -> const std::vector<std::string>* {
      auto p = catalog.parents.find(digest);
      return p == catalog.parents.end() ? nullptr : &p->second;
    };

    for (const auto& j : control::arrayOrEmpty(request, "imageIds")) {
      ImageId id = imageIdFrom(j);
      Resolved r = resolve(catalog, id);
      if (!r.image) {
        failures.push_back(r.failure);
        continue;
      }
      if (id.tag) {
        // By tag: the tag goes; an image left without tags goes with it,
        // unless an index still lists it.
        dropTag(*id.tag);
        deleted.push_back(json{{"imageDigest", r.digest}, {"imageTag", *id.tag}});
        if (catalog.images.at(r.digest).tags.empty() && !referencedBy(r.digest)) dropImage(r.digest);
        continue;
      }
      if (auto* parents = referencedBy(r.digest)) {
        failures.push_back(failure(id, "ImageReferencedByManifestList",
                                   ecr_errors::reasonReferencedByManifestList(*parents)));
        continue;
      }
      std::vector<std::string> tags = r.image->tags;
      for (const auto& tag : tags) {
        dropTag(tag);
        deleted.push_back(json{{"imageDigest", r.digest}, {"imageTag", tag}});
      }
      if (tags.empty()) deleted.push_back(json{{"imageDigest", r.digest}});
      dropImage(r.digest);
    }
    if (!txn.ops.empty()) txn.compares.push_back({keys::repo(name), repo->stored.modRevision});
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"imageIds", deleted}, {"failures", failures}};
}

Result<json> putImage(EcsContext& ctx, const json& request) {
  auto repo = repositoryFromRequest(ctx, request);
  if (!repo.ok()) return repo.takeError();
  PutManifestRequest put;
  put.repository = repo->name;
  if (auto tag = optString(request, "imageTag")) {
    if (!isValidTag(*tag)) return ecr_errors::invalidParameter(invalidImageTagMessage());
    put.reference = *tag;
  }
  put.contentType = control::stringOr(request, "imageManifestMediaType", "");
  put.body = control::stringOr(request, "imageManifest", "");
  put.expectedDigest = optString(request, "imageDigest");
  put.ecrPutImage = true;
  auto result = putManifest(ctx, put);
  if (!result.ok()) return result.takeError();
  return json{{"image", result->image}};
}

Result<json> batchCheckLayerAvailability(EcsContext& ctx, const json& request) {
  auto repo = repositoryFromRequest(ctx, request);
  if (!repo.ok()) return repo.takeError();
  json layers = json::array(), failures = json::array();
  for (const auto& j : control::arrayOrEmpty(request, "layerDigests")) {
    std::string digest = j.is_string() ? j.get<std::string>() : "";
    if (digest.empty()) {
      failures.push_back(json{{"layerDigest", digest},
                              {"failureCode", "MissingLayerDigest"},
                              {"failureReason", "The layer digest must not be empty"}});
      continue;
    }
    if (!oci::Digest::parse(digest).ok()) {
      failures.push_back(json{{"layerDigest", digest},
                              {"failureCode", "InvalidLayerDigest"},
                              {"failureReason", "Invalid layer digest: it must be <algorithm>:<hex>, e.g. sha256:…"}});
      continue;
    }
    auto link = ctx.cache.get(keys::link(repo->name, digest));
    if (!link) {
      layers.push_back(json{{"layerDigest", digest}, {"layerAvailability", "UNAVAILABLE"}});
      continue;
    }
    json layer = {{"layerDigest", digest},
                  {"layerAvailability", "AVAILABLE"},
                  {"layerSize", link->doc.value("size", std::int64_t{0})}};
    if (auto mt = link->doc.find("mediaType"); mt != link->doc.end() && mt->is_string()) layer["mediaType"] = *mt;
    layers.push_back(std::move(layer));
  }
  return json{{"layers", layers}, {"failures", failures}};
}

}  // namespace berth::registry

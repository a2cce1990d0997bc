#include "registry/lifecycle_ops.h"

#include <map>
#include <set>

#include "common/log.h"
#include "control/committer.h"
#include "control/json_fields.h"
#include "control/pagination.h"
#include "registry/keys.h"

namespace berth::registry {
namespace {

using control::optString;
using control::stringOr;
using nlohmann::json;

constexpr std::int64_t kMaxPreviewResults = 100;

Error repositoryNotFound(const control::EcsContext& ctx, const std::string& name) {
  return Error::make(ErrorCode::kRepositoryNotFound, "The repository with name '" + name +
                                                         "' does not exist in the registry with id '" +
                                                         ctx.account.accountId + "'");
}

Result<json> repositoryDoc(const control::EcsContext& ctx, const std::string& name) {
  auto repo = ctx.cache.get(keys::repo(name));
  if (!repo) return repositoryNotFound(ctx, name);
  return repo->doc;
}

std::string repositoryNameOf(const json& request) { return stringOr(request, "repositoryName", ""); }

json previewResult(const Expiration& e) {
  return {{"imageTags", e.tags},
          {"imageDigest", e.digest},
          {"imagePushedAt", e.pushedAt},
          {"action", {{"type", "EXPIRE"}}},
          {"appliedRulePriority", e.rulePriority}};
}

// imageIds entries select by digest, by tag, or by both (then both must hold).
bool matchesImageIds(const json& result, const json& imageIds) {
  for (const auto& id : imageIds) {
    auto digest = optString(id, "imageDigest");
    auto tag = optString(id, "imageTag");
    if (!digest && !tag) continue;
    if (digest && result.value("imageDigest", "") != *digest) continue;
    if (tag) {
      bool tagged = false;
      for (const auto& t : result.value("imageTags", json::array())) tagged = tagged || t == *tag;
      if (!tagged) continue;
    }
    return true;
  }
  return false;
}

Result<std::vector<Expiration>> evaluate(const control::EcsContext& ctx, const std::string& repository,
                                         const std::string& policyText, double now) {
  auto policy = parseLifecyclePolicy(policyText);
  if (!policy.ok()) return policy.takeError();
  auto facts = imageFactsOf(ctx, repository);
  if (!facts.ok()) return facts.takeError();
  return evaluateLifecyclePolicy(*policy, *facts, now);
}

Status recordEvaluation(control::EcsContext& ctx, const std::string& repository, double at) {
  auto r = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    const std::string key = keys::repo(repository);
    auto repo = ctx.cache.get(key);
    if (!repo) return store::TxnRequest{};  // deleted meanwhile: nothing to record
    json doc = repo->doc;
    doc["lifecyclePolicyLastEvaluatedAt"] = at;
    return store::TxnRequest{{control::pinned(ctx.cache, key)}, {store::Op::put(key, doc.dump())}};
  });
  if (!r.ok()) return r.takeError();
  return okStatus();
}

}  // namespace

// Index children are left out: they live and die with the index that lists
// them, and expiring one on its own would break that multi-platform image.
Result<std::vector<ImageFacts>> imageFactsOf(const control::EcsContext& ctx, std::string_view repository) {
  const std::string name(repository);
  if (!ctx.cache.get(keys::repo(name))) return repositoryNotFound(ctx, name);

  std::map<std::string, ImageFacts> images;
  std::set<std::string> children;
  const std::string imagePrefix = keys::imagesOf(name);
  ctx.cache.scan(imagePrefix, "", [&](const std::string& key, const control::CachedObject& o) {
    ImageFacts f;
    f.digest = stringOr(o.doc, "imageDigest", key.substr(imagePrefix.size()));
    f.pushedAt = o.doc.value("imagePushedAt", 0.0);
    f.sizeInBytes = o.doc.value("imageSizeInBytes", 0LL);
    f.manifestMediaType = stringOr(o.doc, "imageManifestMediaType", "");
    f.artifactMediaType = stringOr(o.doc, "artifactMediaType", "");
    for (const auto& c : control::arrayOrEmpty(o.doc, "children"))
      if (c.is_string()) children.insert(c.get<std::string>());
    images.emplace(f.digest, std::move(f));
    return true;
  });
  const std::string tagPrefix = keys::tagsOf(name);
  ctx.cache.scan(tagPrefix, "", [&](const std::string& key, const control::CachedObject& o) {
    auto it = images.find(stringOr(o.doc, "imageDigest", ""));
    if (it != images.end()) it->second.tags.push_back(key.substr(tagPrefix.size()));  // key order: sorted
    return true;
  });

  std::vector<ImageFacts> out;
  out.reserve(images.size());
  for (auto& [digest, facts] : images)
    if (!children.count(digest)) out.push_back(std::move(facts));
  return out;
}

Result<json> startLifecyclePolicyPreview(control::EcsContext& ctx, const json& request) {
  const std::string name = repositoryNameOf(request);
  std::string policyText;
  auto r = control::commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto repo = repositoryDoc(ctx, name);
    if (!repo.ok()) return repo.takeError();
    auto text = optString(request, "lifecyclePolicyText");
    if (!text) text = optString(*repo, "lifecyclePolicyText");
    if (!text)
      return Error::make(ErrorCode::kLifecyclePolicyNotFound, "Lifecycle policy does not exist for the repository with name '" +
                                                                  name + "' in the registry with id '" +
                                                                  ctx.account.accountId + "'");
    policyText = *text;
    const double now = ctx.clock.epochSeconds();
    auto expired = evaluate(ctx, name, policyText, now);
    if (!expired.ok()) return expired.takeError();
    json results = json::array();
    for (const auto& e : *expired) results.push_back(previewResult(e));
    // Evaluated synchronously, so the stored preview is already COMPLETE; the
    // repository is pinned so a preview never outlives a concurrent delete.
    json preview = {{"status", "COMPLETE"},
                    {"lifecyclePolicyText", policyText},
                    {"previewResults", results},
                    {"summary", {{"expiringImageTotalCount", expired->size()}}},
                    {"startedAt", now}};
    return store::TxnRequest{{control::pinned(ctx.cache, keys::repo(name))},
                             {store::Op::put(keys::preview(name), preview.dump())}};
  });
  if (!r.ok()) return r.takeError();
  return json{{"registryId", ctx.account.accountId},
              {"repositoryName", name},
              {"lifecyclePolicyText", policyText},
              {"status", "IN_PROGRESS"}};
}

Result<json> getLifecyclePolicyPreview(control::EcsContext& ctx, const json& request) {
  const std::string name = repositoryNameOf(request);
  auto repo = repositoryDoc(ctx, name);
  if (!repo.ok()) return repo.takeError();
  auto stored = ctx.cache.get(keys::preview(name));
  if (!stored)
    return Error::make(ErrorCode::kLifecyclePolicyPreviewNotFound,
                       "There is no lifecycle policy preview for the repository with name '" + name +
                           "' in the registry with id '" + ctx.account.accountId + "'");
  const json& preview = stored->doc;

  const json* imageIds = control::optField(request, "imageIds");
  if (imageIds && control::optField(request, "maxResults"))
    return Error::make(ErrorCode::kInvalidParameter, "maxResults cannot be used when imageIds are specified.");
  auto page = control::pageRequestFrom(request, kMaxPreviewResults, kMaxPreviewResults);
  if (!page.ok()) return page.takeError();

  std::string tagStatus = "ANY";
  if (const json* filter = control::optField(request, "filter")) tagStatus = stringOr(*filter, "tagStatus", "ANY");
  if (tagStatus != "TAGGED" && tagStatus != "UNTAGGED" && tagStatus != "ANY")
    return Error::make(ErrorCode::kInvalidParameter,
                       "Invalid filter tagStatus '" + tagStatus + "'. Valid values: TAGGED, UNTAGGED, ANY.");

  std::vector<json> selected;
  for (const auto& result : preview.value("previewResults", json::array())) {
    const bool tagged = !result.value("imageTags", json::array()).empty();
    if ((tagStatus == "TAGGED" && !tagged) || (tagStatus == "UNTAGGED" && tagged)) continue;
    if (imageIds && !matchesImageIds(result, *imageIds)) continue;
    selected.push_back(result);
  }
  auto out = control::paginateVector(std::move(selected), "ecr-lifecycle-preview:" + name, *page,
                                     [](const json& r) { return r.value("imageDigest", ""); });
  if (!out.ok()) return out.takeError();

  json response = {{"registryId", ctx.account.accountId},
                   {"repositoryName", name},
                   {"lifecyclePolicyText", preview.value("lifecyclePolicyText", "")},
                   {"status", preview.value("status", "COMPLETE")},
                   {"previewResults", out->items},
                   {"summary", preview.value("summary", json{{"expiringImageTotalCount", 0}})}};
  if (out->nextToken) response["nextToken"] = *out->nextToken;
  return response;
}

LifecycleRunStats applyLifecyclePolicies(control::EcsContext& ctx, const ExpireImagesFn& expire) {
  // Collected first: expiring writes to the store, which must not happen
  // while the cache's scan holds its lock.
  std::vector<std::pair<std::string, std::string>> policies;  // repository, policy text
  ctx.cache.scan(std::string(keys::kRepoPrefix), "", [&](const std::string& key, const control::CachedObject& o) {
    if (auto text = optString(o.doc, "lifecyclePolicyText"))
      policies.emplace_back(key.substr(keys::kRepoPrefix.size()), *text);
    return true;
  });

  LifecycleRunStats stats;
  for (const auto& [repository, text] : policies) {
    const double now = ctx.clock.epochSeconds();
    auto expired = evaluate(ctx, repository, text, now);
    if (!expired.ok()) {
      log::warn("lifecycle policy not evaluated",
                {{"repository", repository}, {"error", expired.error().message}});
      continue;
    }
    ++stats.repositoriesEvaluated;
    if (!expired->empty()) {
      std::vector<std::string> digests;
      for (const auto& e : *expired) digests.push_back(e.digest);
      if (auto s = expire(repository, digests); !s.ok()) {
        log::error("lifecycle policy could not expire images",
                   {{"repository", repository}, {"images", digests.size()}, {"error", s.error().message}});
        continue;
      }
      stats.imagesExpired += digests.size();
      log::info("lifecycle policy expired images", {{"repository", repository}, {"images", digests}});
    }
    if (auto s = recordEvaluation(ctx, repository, now); !s.ok())
      log::warn("lifecycle evaluation time not recorded", {{"repository", repository}, {"error", s.error().message}});
  }
  return stats;
}

}  // namespace berth::registry

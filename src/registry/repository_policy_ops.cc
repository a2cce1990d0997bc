// Repository policies and lifecycle policies: text stored on the repository
// document (keys.h), validated on the way in, echoed as ECR echoes it.
#include "control/json_fields.h"
#include "registry/ecr_errors.h"
#include "registry/lifecycle_policy.h"
#include "registry/repository_ops.h"

namespace berth::registry {
namespace {

using nlohmann::json;

// ECR checks the IAM grammar; what matters here is that the text is a policy
// document at all, so a typo is refused at Set time rather than silently kept.
bool looksLikePolicy(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return false;
  auto statement = doc.find("Statement");
  return statement != doc.end() && (statement->is_array() || statement->is_object());
}

json repositoryIds(const EcsContext& ctx, const json& doc) {
  return json{{"registryId", ctx.account.accountId}, {"repositoryName", doc.value("repositoryName", "")}};
}

// The text member of a repository's document and how ECR reports it missing.
struct PolicySlot {
  const char* member;
  Error (*notFound)(std::string_view registryId, std::string_view repository);
};
constexpr PolicySlot kRepositoryPolicy{"policyText", ecr_errors::repositoryPolicyNotFound};
constexpr PolicySlot kLifecyclePolicy{"lifecyclePolicyText", ecr_errors::lifecyclePolicyNotFound};

Result<json> storedText(const EcsContext& ctx, const json& request, const PolicySlot& slot, json& ids) {
  auto repo = repositoryFromRequest(ctx, request);
  if (!repo.ok()) return repo.takeError();
  ids = repositoryIds(ctx, repo->stored.doc);
  auto it = repo->stored.doc.find(slot.member);
  if (it == repo->stored.doc.end() || !it->is_string()) return slot.notFound(ctx.account.accountId, repo->name);
  return repo->stored.doc;
}

void addLastEvaluatedAt(const json& doc, json& out) {
  if (auto it = doc.find("lifecyclePolicyLastEvaluatedAt"); it != doc.end() && it->is_number())
    out["lastEvaluatedAt"] = *it;
}

}  // namespace

Result<json> setRepositoryPolicy(EcsContext& ctx, const json& request) {
  std::string text = control::stringOr(request, "policyText", "");
  if (!looksLikePolicy(text))
    return ecr_errors::invalidParameter(
        "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'");
  auto doc = mutateRepository(ctx, request, [&](json& d) {
    d[kRepositoryPolicy.member] = text;
    return okStatus();
  });
  if (!doc.ok()) return doc.takeError();
  json out = repositoryIds(ctx, *doc);
  out["policyText"] = text;
  return out;
}

Result<json> getRepositoryPolicy(EcsContext& ctx, const json& request) {
  json ids;
  auto doc = storedText(ctx, request, kRepositoryPolicy, ids);
  if (!doc.ok()) return doc.takeError();
  ids["policyText"] = (*doc)[kRepositoryPolicy.member];
  return ids;
}

Result<json> deleteRepositoryPolicy(EcsContext& ctx, const json& request) {
  json removed;
  auto doc = mutateRepository(ctx, request, [&](json& d) -> Status {
    auto it = d.find(kRepositoryPolicy.member);
    if (it == d.end()) return ecr_errors::repositoryPolicyNotFound(ctx.account.accountId, d.value("repositoryName", ""));
    removed = *it;
    d.erase(it);
    return okStatus();
  });
  if (!doc.ok()) return doc.takeError();
  json out = repositoryIds(ctx, *doc);
  out["policyText"] = removed;
  return out;
}

Result<json> putLifecyclePolicy(EcsContext& ctx, const json& request) {
  std::string text = control::stringOr(request, "lifecyclePolicyText", "");
  auto policy = parseLifecyclePolicy(text);
  if (!policy.ok()) return policy.takeError();
  auto doc = mutateRepository(ctx, request, [&](json& d) {
    d[kLifecyclePolicy.member] = text;
    return okStatus();
  });
  if (!doc.ok()) return doc.takeError();
  json out = repositoryIds(ctx, *doc);
  out["lifecyclePolicyText"] = text;
  return out;
}

Result<json> getLifecyclePolicy(EcsContext& ctx, const json& request) {
  json ids;
  auto doc = storedText(ctx, request, kLifecyclePolicy, ids);
  if (!doc.ok()) return doc.takeError();
  ids["lifecyclePolicyText"] = (*doc)[kLifecyclePolicy.member];
  addLastEvaluatedAt(*doc, ids);
  return ids;
}

Result<json> deleteLifecyclePolicy(EcsContext& ctx, const json& request) {
  json removed;
  auto doc = mutateRepository(ctx, request, [&](json& d) -> Status {
    auto it = d.find(kLifecyclePolicy.member);
    if (it == d.end()) return ecr_errors::lifecyclePolicyNotFound(ctx.account.accountId, d.value("repositoryName", ""));
    removed = json{{"lifecyclePolicyText", *it}};
    addLastEvaluatedAt(d, removed);
    d.erase(it);
    d.erase("lifecyclePolicyLastEvaluatedAt");
    return okStatus();
  });
  if (!doc.ok()) return doc.takeError();
  json out = repositoryIds(ctx, *doc);
  out.update(removed);
  return out;
}

}  // namespace berth::registry

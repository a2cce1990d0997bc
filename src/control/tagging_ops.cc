#include "control/tagging_ops.h"

#include "control/arn.h"
#include "control/committer.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/tags.h"
#include "control/task_definition_ops.h"

namespace berth::control {
namespace {

using nlohmann::json;

Error notFound() { return Error::make(ErrorCode::kResourceNotFound, "The specified resource could not be found."); }

Result<std::pair<std::string, CachedObject>> findTaggable(const EcsContext& ctx, const json& request) {
  auto arn = optString(request, "resourceArn");
  if (!arn || arn->empty()) return Error::make(ErrorCode::kInvalidParameter, "resourceArn must be specified.");
  auto key = storeKeyForArn(ctx.account, *arn);
  if (!key) return Error::make(ErrorCode::kInvalidParameter, "The ARN '" + *arn + "' is not a valid Amazon ECS resource ARN.");
  auto obj = ctx.cache.get(*key);
  if (!obj) return notFound();
  if (key->rfind(keys::kClusters, 0) == 0 && obj->doc.value("status", "") != "ACTIVE")
    return Error::make(ErrorCode::kClusterNotFound, "Cluster not found.");
  return std::make_pair(*key, *obj);
}

Result<json> updateTags(EcsContext& ctx, const json& request, const std::function<Result<json>(const json&)>& change) {
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto found = findTaggable(ctx, request);
    if (!found.ok()) return found.takeError();
    auto& [key, obj] = *found;
    json doc = obj.doc;
    auto tags = change(doc.value("tags", json::array()));
    if (!tags.ok()) return tags.takeError();
    doc["tags"] = *tags;
    return store::TxnRequest{{{key, obj.modRevision}}, {store::Op::put(key, doc.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return json::object();
}

}  // namespace

std::optional<std::string> storeKeyForArn(const AccountInfo& account, const std::string& arn) {
  auto parsed = parseArn(arn);
  if (!parsed || parsed->service != "ecs" || parsed->account != account.accountId || parsed->region != account.region)
    return std::nullopt;
  if (parsed->resourceType == "cluster") return keys::cluster(parsed->resource);
  // Tasks and container instances: "<type>/<cluster>/<id>".
  if (parsed->resourceType == "task" || parsed->resourceType == "container-instance") {
    auto slash = parsed->resource.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == parsed->resource.size()) return std::nullopt;
    std::string cluster = parsed->resource.substr(0, slash);
    std::string id = parsed->resource.substr(slash + 1);
    if (id.find('/') != std::string::npos) return std::nullopt;
    return parsed->resourceType == "task" ? keys::task(cluster, id) : keys::containerInstance(cluster, id);
  }
  // Services: "service/<cluster>/<name>" (the old "service/<name>" names no cluster).
  if (parsed->resourceType == "service") {
    auto slash = parsed->resource.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == parsed->resource.size()) return std::nullopt;
    if (parsed->resource.find('/', slash + 1) != std::string::npos) return std::nullopt;
    return keys::service(parsed->resource.substr(0, slash), parsed->resource.substr(slash + 1));
  }
  if (parsed->resourceType == "task-definition") {
    auto ref = parseTaskDefinitionRef(parsed->resource);
    if (!ref || !ref->revision) return std::nullopt;
    return keys::taskDefinition(ref->family, *ref->revision);
  }
  return std::nullopt;
}

Result<json> tagResource(EcsContext& ctx, const json& request) {
  auto added = validateTags(request.value("tags", json()));
  if (!added.ok()) return added.takeError();
  if (added->empty()) return Error::make(ErrorCode::kInvalidParameter, "tags must contain at least one tag.");
  return updateTags(ctx, request, [&](const json& existing) { return mergeTags(existing, *added); });
}

Result<json> untagResource(EcsContext& ctx, const json& request) {
  json keysToRemove = arrayOrEmpty(request, "tagKeys");
  return updateTags(ctx, request, [&](const json& existing) -> Result<json> { return removeTags(existing, keysToRemove); });
}

Result<json> listTagsForResource(EcsContext& ctx, const json& request) {
  auto found = findTaggable(ctx, request);
  if (!found.ok()) return found.takeError();
  return json{{"tags", found->second.doc.value("tags", json::array())}};
}

}  // namespace berth::control

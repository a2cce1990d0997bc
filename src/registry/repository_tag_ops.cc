// TagResource / UntagResource / ListTagsForResource on ECR repository ARNs.
// The tags live in the repository document's "tags" ([{"Key","Value"}]).
#include "control/arn.h"
#include "control/json_fields.h"
#include "registry/ecr_errors.h"
#include "registry/ecr_tags.h"
#include "registry/keys.h"
#include "registry/repository_ops.h"

namespace berth::registry {
namespace {

using nlohmann::json;

// The repository an ARN names. Anything but an ECR repository ARN is an
// invalid parameter; another account's or region's repository is not found.
Result<std::string> repositoryOfArn(const EcsContext& ctx, const json& request) {
  std::string arn = control::stringOr(request, "resourceArn", "");
  auto parsed = control::parseArn(arn);
  if (!parsed || parsed->service != "ecr" || parsed->resourceType != "repository" ||
      !isValidRepositoryName(parsed->resource))
    return ecr_errors::invalidParameter("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'");
  if (parsed->partition != ctx.account.partition || parsed->region != ctx.account.region ||
      parsed->account != ctx.account.accountId || !ctx.cache.get(keys::repo(parsed->resource)))
    return ecr_errors::repositoryNotFound(parsed->account, parsed->resource);
  return parsed->resource;
}

Result<json> mutateTags(EcsContext& ctx, const json& request, const std::function<Result<json>(const json&)>& change) {
  auto name = repositoryOfArn(ctx, request);
  if (!name.ok()) return name.takeError();
  auto doc = mutateRepository(ctx, json{{"repositoryName", *name}}, [&](json& d) -> Status {
    auto tags = change(d.value("tags", json::array()));
    if (!tags.ok()) return tags.takeError();
    d["tags"] = std::move(*tags);
    return okStatus();
  });
  if (!doc.ok()) return doc.takeError();
  return json::object();
}

}  // namespace

Result<json> tagResource(EcsContext& ctx, const json& request) {
  auto added = validateEcrTags(request.value("tags", json()));
  if (!added.ok()) return added.takeError();
  return mutateTags(ctx, request, [&](const json& existing) { return mergeEcrTags(existing, *added); });
}

Result<json> untagResource(EcsContext& ctx, const json& request) {
  json keys = control::arrayOrEmpty(request, "tagKeys");
  return mutateTags(ctx, request, [&](const json& existing) -> Result<json> { return removeEcrTags(existing, keys); });
}

Result<json> listTagsForResource(EcsContext& ctx, const json& request) {
  auto name = repositoryOfArn(ctx, request);
  if (!name.ok()) return name.takeError();
  auto doc = findRepository(ctx, *name);
  if (!doc.ok()) return doc.takeError();
  return json{{"tags", doc->value("tags", json::array())}};
}

}  // namespace berth::registry

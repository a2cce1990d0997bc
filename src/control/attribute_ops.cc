#include "control/attribute_ops.h"

#include <cctype>
#include <map>

#include "control/arn.h"
#include "control/cluster_ops.h"
#include "control/committer.h"
#include "control/container_instance_ops.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/pagination.h"

namespace berth::control {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxAttributesPerCall = 10;
constexpr std::size_t kMaxCustomAttributesPerInstance = 10;
constexpr std::size_t kMaxAttributeLength = 128;
constexpr const char* kContainerInstanceTarget = "container-instance";

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

bool validNameChar(unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '/' || c == '\\' || c == '.'; }
bool validValueChar(unsigned char c) { return validNameChar(c) || c == '@' || c == ':' || c == ' '; }

Status validateName(const std::string& name) {
  if (name.empty() || name.size() > kMaxAttributeLength)
    return invalid("Attribute names must be 1-128 characters long ('" + name + "').");
  for (unsigned char c : name)
    if (!validNameChar(c))
      return invalid("Attribute name '" + name +
                     "' contains an invalid character; names may contain letters, numbers, hyphens (-), underscores "
                     "(_), forward slashes (/), back slashes (\\) and periods (.).");
  return okStatus();
}

Status validateValue(const std::string& name, const std::string& value) {
  if (value.empty() || value.size() > kMaxAttributeLength)
    return invalid("Attribute values must be 1-128 characters long (attribute '" + name + "').");
  if (value.front() == ' ' || value.back() == ' ')
    return invalid("The value of attribute '" + name + "' must not start or end with a space.");
  for (unsigned char c : value)
    if (!validValueChar(c))
      return invalid("The value of attribute '" + name +
                     "' contains an invalid character; values may contain letters, numbers, hyphens (-), underscores "
                     "(_), periods (.), at signs (@), forward slashes (/), back slashes (\\), colons (:) and spaces.");
  return okStatus();
}

// One attribute of a Put/DeleteAttributes request, resolved to its instance.
struct TargetedAttribute {
  std::string name;
  std::optional<std::string> value;
  std::string key;    // the instance's store key
  json asRequested;   // echoed in the response (targetType filled in)
};

Result<std::vector<TargetedAttribute>> readAttributes(const EcsContext& ctx, const std::string& cluster,
                                                      const json& request, bool withValues) {
  json list = arrayOrEmpty(request, "attributes");
  if (list.empty()) return invalid("attributes must contain at least one attribute.");
  std::vector<TargetedAttribute> out;
  for (const auto& a : list) {
    TargetedAttribute t;
    t.name = stringOr(a, "name", "");
    BERTH_TRY(validateName(t.name));
    if (isBuiltInAttribute(t.name))
      return invalid("The attribute '" + t.name +
                     "' is a built-in attribute (ecs.* and com.amazonaws.ecs.* are set by the container agent); "
                     "only custom attributes can be put or deleted.");
    if (withValues) {
      t.value = optString(a, "value");
      if (t.value) BERTH_TRY(validateValue(t.name, *t.value));
    }
    auto type = optString(a, "targetType");
    if (type && *type != kContainerInstanceTarget)
      return invalid("Invalid targetType '" + *type + "'. Valid value: container-instance.");
    const std::string target = stringOr(a, "targetId", "");
    if (target.empty()) return invalid("targetId must be specified for attribute '" + t.name + "'.");
    const bool isArn = target.rfind("arn:", 0) == 0;
    if (!isArn && !type)
      return invalid("targetType must be specified when targetId '" + target + "' is not an ARN.");
    if (isArn) {
      auto parsed = parseArn(target);
      if (!parsed || parsed->service != "ecs" || parsed->resourceType != kContainerInstanceTarget)
        return invalid("targetId '" + target + "' is not a container instance ARN.");
    }
    auto id = containerInstanceIdFromRef(target, cluster);
    auto obj = id ? ctx.cache.get(keys::containerInstance(cluster, *id)) : std::nullopt;
    if (!obj || obj->doc.value("status", "") == "INACTIVE")
      return Error::make(ErrorCode::kTargetNotFound,
                         "Could not find the container instance '" + target + "' in cluster " + cluster + ".");
    t.key = keys::containerInstance(cluster, *id);
    t.asRequested = {{"name", t.name}, {"targetType", kContainerInstanceTarget}, {"targetId", target}};
    if (t.value) t.asRequested["value"] = *t.value;
    out.push_back(std::move(t));
  }
  return out;
}

std::size_t customAttributeCount(const json& attributes) {
  std::size_t n = 0;
  for (const auto& a : attributes)
    if (!isBuiltInAttribute(a.value("name", ""))) ++n;
  return n;
}

// Applies `change` to the attribute list of every instance the request names,
// in one transaction pinned to the revisions it read.
Status updateInstances(EcsContext& ctx, const std::vector<TargetedAttribute>& attributes,
                       const std::function<Status(json& attributeList, const TargetedAttribute&)>& change) {
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    std::map<std::string, CachedObject> read;
    std::map<std::string, json> docs;
    for (const auto& a : attributes) {
      if (!read.contains(a.key)) {
        auto obj = ctx.cache.get(a.key);
        if (!obj || obj->doc.value("status", "") == "INACTIVE")
          return Error::make(ErrorCode::kTargetNotFound,
                             "Could not find the container instance '" + a.asRequested.value("targetId", "") + "'.");
        read.emplace(a.key, *obj);
        docs.emplace(a.key, obj->doc);
      }
      json& doc = docs[a.key];
      if (!doc["attributes"].is_array()) doc["attributes"] = json::array();
      BERTH_TRY(change(doc["attributes"], a));
    }
    store::TxnRequest txn;
    for (auto& [key, doc] : docs) {
      const CachedObject& before = read.at(key);
      if (doc == before.doc) continue;
      const std::size_t custom = customAttributeCount(doc["attributes"]);
      if (custom > kMaxCustomAttributesPerInstance && custom > customAttributeCount(before.doc.value("attributes", json::array())))
        return Error::make(ErrorCode::kAttributeLimitExceeded,
                           "The container instance " + doc.value("containerInstanceArn", key) + " would have " +
                               std::to_string(custom) + " custom attributes; the limit is 10. Delete some with DeleteAttributes first.");
      doc["version"] = doc.value("version", std::int64_t{0}) + 1;
      txn.compares.push_back({key, before.modRevision});
      txn.ops.push_back(store::Op::put(key, doc.dump()));
    }
    return txn;
  });
  if (!txn.ok()) return txn.takeError();
  return okStatus();
}

json echo(const std::vector<TargetedAttribute>& attributes) {
  json out = json::array();
  for (const auto& a : attributes) out.push_back(a.asRequested);
  return out;
}

}  // namespace

bool isBuiltInAttribute(std::string_view name) {
  return name.starts_with("ecs.") || name.starts_with("com.amazonaws.ecs.");
}

Result<json> putAttributes(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  if (arrayOrEmpty(request, "attributes").size() > kMaxAttributesPerCall)
    return Error::make(ErrorCode::kAttributeLimitExceeded, "You can specify up to 10 attributes in a single PutAttributes call.");
  auto attributes = readAttributes(ctx, *cluster, request, /*withValues=*/true);
  if (!attributes.ok()) return attributes.takeError();
  BERTH_TRY(updateInstances(ctx, *attributes, [](json& list, const TargetedAttribute& a) -> Status {
    json item = {{"name", a.name}};
    if (a.value) item["value"] = *a.value;
    for (auto& existing : list) {
      if (existing.value("name", "") == a.name) {
        existing = item;
        return okStatus();
      }
    }
    list.push_back(item);
    return okStatus();
  }));
  return json{{"attributes", echo(*attributes)}};
}

Result<json> deleteAttributes(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  if (arrayOrEmpty(request, "attributes").size() > kMaxAttributesPerCall)
    return invalid("You can specify up to 10 attributes in a single DeleteAttributes call.");
  // A value in a delete request is ignored: the name identifies a custom attribute.
  auto attributes = readAttributes(ctx, *cluster, request, /*withValues=*/false);
  if (!attributes.ok()) return attributes.takeError();
  BERTH_TRY(updateInstances(ctx, *attributes, [](json& list, const TargetedAttribute& a) -> Status {
    for (auto it = list.begin(); it != list.end(); ++it) {
      if (it->value("name", "") == a.name) {
        list.erase(it);
        break;
      }
    }
    return okStatus();
  }));
  return json{{"attributes", echo(*attributes)}};
}

Result<json> listAttributes(EcsContext& ctx, const json& request) {
  auto cluster = resolveActiveCluster(ctx, request);
  if (!cluster.ok()) return cluster.takeError();
  auto type = optString(request, "targetType");
  if (!type || *type != kContainerInstanceTarget)
    return invalid("targetType must be specified; valid value: container-instance.");
  auto name = optString(request, "attributeName");
  auto value = optString(request, "attributeValue");
  if (value && !name) return invalid("attributeValue can only be used together with attributeName.");
  auto page = pageRequestFrom(request);
  if (!page.ok()) return page.takeError();

  // One item per attribute per registered instance, in instance key order then
  // the order the instance lists its attributes (stable across pages).
  std::vector<json> items;
  ctx.cache.scan(keys::clusterScoped(keys::kContainerInstances, *cluster), "",
                 [&](const std::string&, const CachedObject& o) {
                   if (o.doc.value("status", "") == "INACTIVE") return true;
                   const std::string arn = o.doc.value("containerInstanceArn", "");
                   for (const auto& a : o.doc.value("attributes", json::array())) {
                     const std::string n = a.value("name", "");
                     if (name && n != *name) continue;
                     auto v = optString(a, "value");
                     if (value && v != value) continue;
                     json item = {{"name", n}, {"targetType", kContainerInstanceTarget}, {"targetId", arn}};
                     if (v) item["value"] = *v;
                     items.push_back(std::move(item));
                   }
                   return true;
                 });
  auto result = paginateVector(std::move(items),
                               "ListAttributes/" + *cluster + "/" + name.value_or("") + "/" + value.value_or(""), *page,
                               [](const json& item) {
                                 return item.value("targetId", "") + "\n" + item.value("name", "");
                               });
  if (!result.ok()) return result.takeError();
  json out = {{"attributes", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

}  // namespace berth::control

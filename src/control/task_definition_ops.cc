#include "control/task_definition_ops.h"

#include <algorithm>
#include <charconv>

#include "control/arn.h"
#include "control/committer.h"
#include "control/json_fields.h"
#include "control/keys.h"
#include "control/pagination.h"
#include "control/tags.h"
#include "control/task_definition_validation.h"

namespace berth::control {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxDeleteTaskDefinitions = 10;

Error client(std::string message) { return Error::make(ErrorCode::kClient, std::move(message)); }
Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

std::optional<std::int64_t> parseRevision(std::string_view s) {
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 1) return std::nullopt;
  return v;
}

// Family documents count revisions so new revisions never reuse a number and
// family listings don't need to scan every revision.
struct FamilyCounters {
  std::int64_t lastRevision = 0;
  std::int64_t activeRevisions = 0;
  std::int64_t inactiveRevisions = 0;  // INACTIVE or DELETE_IN_PROGRESS, still visible
  json toJson(const std::string& family) const {
    return {{"family", family}, {"lastRevision", lastRevision}, {"activeRevisions", activeRevisions},
            {"inactiveRevisions", inactiveRevisions}};
  }
  static FamilyCounters from(const std::optional<CachedObject>& o) {
    FamilyCounters c;
    if (!o) return c;
    c.lastRevision = o->doc.value("lastRevision", std::int64_t{0});
    c.activeRevisions = o->doc.value("activeRevisions", std::int64_t{0});
    c.inactiveRevisions = o->doc.value("inactiveRevisions", std::int64_t{0});
    return c;
  }
};

json responseWithTags(const json& stored, bool includeTags) {
  json out = {{"taskDefinition", stored["taskDefinition"]}};
  if (includeTags) out["tags"] = stored.value("tags", json::array());
  return out;
}

Result<TaskDefinitionRef> requireRef(const json& request, const char* field, bool needRevision) {
  auto s = optString(request, field);
  if (!s || s->empty()) return client(std::string(field) + " must be specified.");
  auto ref = parseTaskDefinitionRef(*s);
  if (!ref) return client("Invalid task definition '" + *s + "'. Specify family, family:revision or a task definition ARN.");
  if (needRevision && !ref->revision)
    return client("Invalid task definition '" + *s + "'. A revision is required: use family:revision or the full ARN.");
  return *ref;
}

// Whether any task record (running or stopped but not yet reaped) names this revision.
// TODO(berth): an index by task definition when clusters hold many tasks. #7
bool taskDefinitionInUse(const StateCache& cache, const std::string& arn) {
  bool used = false;
  cache.scan(std::string(keys::kTasks), "", [&](const std::string&, const CachedObject& o) {
    if (o.doc.value("taskDefinitionArn", "") == arn) used = true;
    return !used;
  });
  return used;
}

// Deletes a non-ACTIVE revision and updates its family's counters.
store::TxnRequest removeRevision(const EcsContext& ctx, const ResolvedTaskDefinition& found, const std::string& family) {
  const auto familyKey = keys::family(family);
  auto counters = FamilyCounters::from(ctx.cache.get(familyKey));
  counters.inactiveRevisions -= 1;
  return store::TxnRequest{{{found.key, found.object.modRevision}, pinned(ctx.cache, familyKey)},
                           {store::Op::del(found.key), store::Op::put(familyKey, counters.toJson(family).dump())}};
}

}  // namespace

std::optional<TaskDefinitionRef> parseTaskDefinitionRef(const std::string& input) {
  std::string ref = input;
  if (ref.rfind("arn:", 0) == 0) {
    auto arn = parseArn(ref);
    if (!arn || arn->service != "ecs" || arn->resourceType != "task-definition") return std::nullopt;
    ref = arn->resource;
    if (ref.find(':') == std::string::npos) return std::nullopt;  // ARNs always carry a revision
  }
  auto colon = ref.find(':');
  std::string family = ref.substr(0, colon);
  if (family.empty() || family.size() > 255) return std::nullopt;
  for (unsigned char c : family)
    if (!std::isalnum(c) && c != '-' && c != '_') return std::nullopt;
  if (colon == std::string::npos) return TaskDefinitionRef{family, std::nullopt};
  auto rev = parseRevision(std::string_view(ref).substr(colon + 1));
  if (!rev) return std::nullopt;
  return TaskDefinitionRef{family, *rev};
}

std::optional<ResolvedTaskDefinition> resolveTaskDefinition(const StateCache& cache, const TaskDefinitionRef& ref) {
  if (ref.revision) {
    auto key = keys::taskDefinition(ref.family, *ref.revision);
    auto obj = cache.get(key);
    if (!obj) return std::nullopt;
    return ResolvedTaskDefinition{key, *obj};
  }
  std::optional<ResolvedTaskDefinition> latest;
  cache.scan(keys::familyRevisions(ref.family), "", [&](const std::string& key, const CachedObject& o) {
    if (o.doc["taskDefinition"].value("status", "") == "ACTIVE") latest = ResolvedTaskDefinition{key, o};
    return true;
  });
  return latest;
}

Result<json> registerTaskDefinition(EcsContext& ctx, const json& request) {
  auto tags = validateTags(request.value("tags", json()));
  if (!tags.ok()) return tags.takeError();
  auto normalized = normalizeTaskDefinition(request);
  if (!normalized.ok()) return normalized.takeError();
  const std::string family = normalized->value("family", "");
  const std::string familyKey = keys::family(family);

  json stored;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto familyObj = ctx.cache.get(familyKey);
    auto counters = FamilyCounters::from(familyObj);
    counters.lastRevision += 1;
    counters.activeRevisions += 1;
    json td = *normalized;
    td["taskDefinitionArn"] = taskDefinitionArn(ctx.account, family, counters.lastRevision);
    td["revision"] = counters.lastRevision;
    td["status"] = "ACTIVE";
    td["registeredAt"] = ctx.clock.epochSeconds();
    td["registeredBy"] = ctx.callerArn();
    stored = {{"taskDefinition", td}, {"tags", *tags}};
    const auto tdKey = keys::taskDefinition(family, counters.lastRevision);
    return store::TxnRequest{
        {{familyKey, familyObj ? familyObj->modRevision : 0}, {tdKey, 0}},
        {store::Op::put(familyKey, counters.toJson(family).dump()), store::Op::put(tdKey, stored.dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return responseWithTags(stored, true);
}

Result<json> describeTaskDefinition(EcsContext& ctx, const json& request) {
  auto ref = requireRef(request, "taskDefinition", false);
  if (!ref.ok()) return ref.takeError();
  auto includeTags = includesTags(request);
  if (!includeTags.ok()) return includeTags.takeError();
  auto found = resolveTaskDefinition(ctx.cache, *ref);
  if (!found) return client("Unable to describe task definition.");
  return responseWithTags(found->object.doc, *includeTags);
}

Result<json> listTaskDefinitions(EcsContext& ctx, const json& request) {
  auto page = pageRequestFrom(request);
  if (!page.ok()) return page.takeError();
  std::string status = stringOr(request, "status", "ACTIVE");
  if (status != "ACTIVE" && status != "INACTIVE" && status != "DELETE_IN_PROGRESS")
    return invalid("Invalid status '" + status + "'. Valid values: ACTIVE, INACTIVE, DELETE_IN_PROGRESS.");
  std::string sort = stringOr(request, "sort", "ASC");
  if (sort != "ASC" && sort != "DESC") return invalid("Invalid sort '" + sort + "'. Valid values: ASC, DESC.");
  auto familyFilter = optString(request, "familyPrefix");
  if (familyFilter && familyFilter->empty()) familyFilter.reset();  // "" means no filter
  // familyPrefix is the whole family name (the API's name is historical).
  std::string prefix = familyFilter ? keys::familyRevisions(*familyFilter) : std::string(keys::kTaskDefinitions);
  std::string scope = "ListTaskDefinitions/" + status + "/" + sort + "/" + prefix;
  auto select = [&](const std::string&, const CachedObject& o) -> std::optional<json> {
    const auto& td = o.doc["taskDefinition"];
    if (td.value("status", "") != status) return std::nullopt;
    return td.value("taskDefinitionArn", "");
  };
  Result<Page> result = Page{};
  if (sort == "ASC") {
    result = paginate(ctx.cache, prefix, scope, *page, select);
  } else {
    // Key order is family then revision ascending; DESC walks it backwards.
    // Bug fix (controltests): the token is the last store key returned and the
    // next page resumes below it. It used to be the last ARN, looked up by exact
    // match, so when that task definition left the listing between two calls
    // (deregistered, deleted) the next page came back empty and the listing ended.
    std::string below;  // exclusive upper bound; empty = from the end
    if (!page->nextToken.empty()) {
      auto k = decodePageToken(scope, page->nextToken);
      if (!k.ok()) return k.takeError();
      below = *k;
    }
    std::vector<std::pair<std::string, json>> all;
    ctx.cache.scan(prefix, "", [&](const std::string& key, const CachedObject& o) {
      if (!below.empty() && key >= below) return false;
      if (auto v = select(key, o)) all.emplace_back(key, std::move(*v));
      return true;
    });
    Page p;
    std::string lastKey;
    for (auto it = all.rbegin(); it != all.rend() && static_cast<std::int64_t>(p.items.size()) < page->maxResults; ++it) {
      p.items.push_back(std::move(it->second));
      lastKey = it->first;
    }
    if (p.items.size() < all.size()) p.nextToken = encodePageToken(scope, lastKey);
    result = std::move(p);
  }
  if (!result.ok()) return result.takeError();
  json out = {{"taskDefinitionArns", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

Result<json> listTaskDefinitionFamilies(EcsContext& ctx, const json& request) {
  auto page = pageRequestFrom(request);
  if (!page.ok()) return page.takeError();
  std::string status = stringOr(request, "status", "ACTIVE");
  if (status != "ACTIVE" && status != "INACTIVE" && status != "ALL")
    return invalid("Invalid status '" + status + "'. Valid values: ACTIVE, INACTIVE, ALL.");
  std::string familyPrefix = stringOr(request, "familyPrefix", "");
  std::string prefix = keys::family(familyPrefix);
  auto result = paginate(ctx.cache, prefix, "ListTaskDefinitionFamilies/" + status + "/" + prefix, *page,
                         [&](const std::string&, const CachedObject& o) -> std::optional<json> {
                           auto c = FamilyCounters::from(o);
                           bool active = c.activeRevisions > 0;
                           bool visible = active || c.inactiveRevisions > 0;
                           if (!visible) return std::nullopt;  // every revision deleted
                           if (status == "ACTIVE" && !active) return std::nullopt;
                           if (status == "INACTIVE" && active) return std::nullopt;
                           return o.doc.value("family", "");
                         });
  if (!result.ok()) return result.takeError();
  json out = {{"families", result->items}};
  if (result->nextToken) out["nextToken"] = *result->nextToken;
  return out;
}

Result<json> deregisterTaskDefinition(EcsContext& ctx, const json& request) {
  auto ref = requireRef(request, "taskDefinition", true);
  if (!ref.ok()) return ref.takeError();
  json updated;
  auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
    auto found = resolveTaskDefinition(ctx.cache, *ref);
    if (!found) return client("The specified task definition does not exist.");
    updated = found->object.doc;
    auto& td = updated["taskDefinition"];
    if (td.value("status", "") != "ACTIVE") return store::TxnRequest{{}, {}};  // already INACTIVE: idempotent
    td["status"] = "INACTIVE";
    td["deregisteredAt"] = ctx.clock.epochSeconds();
    const auto familyKey = keys::family(ref->family);
    auto familyObj = ctx.cache.get(familyKey);
    auto counters = FamilyCounters::from(familyObj);
    counters.activeRevisions -= 1;
    counters.inactiveRevisions += 1;
    return store::TxnRequest{
        {{found->key, found->object.modRevision}, pinned(ctx.cache, familyKey)},
        {store::Op::put(found->key, updated.dump()), store::Op::put(familyKey, counters.toJson(ref->family).dump())}};
  });
  if (!txn.ok()) return txn.takeError();
  return json{{"taskDefinition", updated["taskDefinition"]}};
}

Result<json> deleteTaskDefinitions(EcsContext& ctx, const json& request) {
  json refs = arrayOrEmpty(request, "taskDefinitions");
  if (refs.empty()) return invalid("taskDefinitions must contain at least one task definition.");
  if (refs.size() > kMaxDeleteTaskDefinitions)
    return invalid("You can delete up to 10 task definitions in a single call.");
  json deleted = json::array(), failures = json::array();
  for (const auto& r : refs) {
    std::string s = r.is_string() ? r.get<std::string>() : "";
    auto ref = parseTaskDefinitionRef(s);
    if (!ref || !ref->revision) {
      failures.push_back({{"arn", s}, {"reason", "INVALID_ARGUMENT"},
                          {"detail", "Specify the task definition as family:revision or a full ARN."}});
      continue;
    }
    const std::string arn = taskDefinitionArn(ctx.account, ref->family, *ref->revision);
    json td;
    struct Failure { std::string reason, detail; };
    std::optional<Failure> failure;
    auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
      failure.reset();
      auto found = resolveTaskDefinition(ctx.cache, *ref);
      if (!found) {
        failure = Failure{"TASK_DEFINITION_NOT_FOUND", "The specified task definition does not exist."};
        return store::TxnRequest{};
      }
      td = found->object.doc["taskDefinition"];
      if (td.value("status", "") == "ACTIVE") {
        failure = Failure{"TASK_DEFINITION_NOT_INACTIVE",
                          "The specified task definition is still in ACTIVE status. Deregister it first."};
        return store::TxnRequest{};
      }
      if (td.value("status", "") == "DELETE_IN_PROGRESS") return store::TxnRequest{};  // already requested
      td["status"] = "DELETE_IN_PROGRESS";
      td["deleteRequestedAt"] = ctx.clock.epochSeconds();
      // A revision that tasks still reference stays DELETE_IN_PROGRESS until
      // they are gone (purgeDeletedTaskDefinitions); otherwise it goes now.
      // Either way its number is never reused.
      if (taskDefinitionInUse(ctx.cache, td.value("taskDefinitionArn", ""))) {
        json stored = found->object.doc;
        stored["taskDefinition"] = td;
        return store::TxnRequest{{{found->key, found->object.modRevision}},
                                 {store::Op::put(found->key, stored.dump())}};
      }
      return removeRevision(ctx, *found, ref->family);
    });
    if (!txn.ok()) return txn.takeError();
    if (failure) {
      failures.push_back({{"arn", arn}, {"reason", failure->reason}, {"detail", failure->detail}});
      continue;
    }
    deleted.push_back(td);
  }
  return json{{"taskDefinitions", deleted}, {"failures", failures}};
}

Result<std::size_t> purgeDeletedTaskDefinitions(EcsContext& ctx) {
  std::vector<ResolvedTaskDefinition> candidates;
  ctx.cache.scan(std::string(keys::kTaskDefinitions), "", [&](const std::string& key, const CachedObject& o) {
    if (o.doc["taskDefinition"].value("status", "") == "DELETE_IN_PROGRESS") candidates.push_back({key, o});
    return true;
  });
  std::size_t purged = 0;
  for (const auto& c : candidates) {
    const auto& td = c.object.doc["taskDefinition"];
    if (taskDefinitionInUse(ctx.cache, td.value("taskDefinitionArn", ""))) continue;
    auto ref = parseTaskDefinitionRef(td.value("taskDefinitionArn", ""));
    if (!ref) continue;
    bool gone = false;
    auto txn = commitWithRetry(ctx, [&]() -> Result<store::TxnRequest> {
      auto current = resolveTaskDefinition(ctx.cache, *ref);
      if (!current || current->object.doc["taskDefinition"].value("status", "") != "DELETE_IN_PROGRESS") {
        gone = true;
        return store::TxnRequest{};
      }
      return removeRevision(ctx, *current, ref->family);
    });
    if (!txn.ok()) return txn.takeError();
    if (!gone) ++purged;
  }
  return purged;
}

}  // namespace berth::control

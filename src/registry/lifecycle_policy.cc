#include "registry/lifecycle_policy.h"

#include <algorithm>
#include <climits>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

namespace berth::registry {
namespace {

using nlohmann::json;

constexpr double kSecondsPerDay = 86400.0;
constexpr int kMaxWildcardsPerPattern = 4;

// ECR validates the policy document with a JSON schema first (its messages are
// the schema validator's), then checks the rules against each other.
Error validationFailure(const std::string& detail) {
  return Error::make(ErrorCode::kInvalidParameter,
                     "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: "
                     "'Lifecycle policy validation failure: " + detail + "'");
}

std::string schemaTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    case json::value_t::string: return "string";
    case json::value_t::array: return "array";
    case json::value_t::object: return "object";
    default: return "unknown";
  }
}

Error wrongType(const json& v, const std::string& allowed) {
  return validationFailure("instance type (" + schemaTypeName(v) +
                           ") does not match any allowed primitive type (allowed: [\"" + allowed + "\"])");
}

// Required members present, no members outside `allowed` (the schema has
// additionalProperties: false everywhere).
std::optional<Error> checkMembers(const json& obj, const std::set<std::string>& required,
                                  const std::set<std::string>& allowed) {
  std::set<std::string> missing;
  for (const auto& r : required)
    if (!obj.contains(r)) missing.insert(r);
  if (!missing.empty()) return validationFailure("object has missing required properties (" + json(missing).dump() + ")");
  std::set<std::string> extra;
  for (const auto& [k, v] : obj.items())
    if (!required.count(k) && !allowed.count(k)) extra.insert(k);
  if (!extra.empty())
    return validationFailure("object instance has properties which are not allowed by the schema: (" + json(extra).dump() + ")");
  return std::nullopt;
}

std::optional<Error> checkEnum(const json& v, const std::vector<std::string>& values) {
  if (v.is_string() && std::find(values.begin(), values.end(), v.get<std::string>()) != values.end()) return std::nullopt;
  return validationFailure("instance value (" + v.dump() + ") not found in enum (possible values: " + json(values).dump() + ")");
}

Result<long long> positiveInteger(const json& v, long long maximum) {
  if (!v.is_number_integer()) return wrongType(v, "integer");
  if (v.is_number_unsigned() && v.get<unsigned long long>() > static_cast<unsigned long long>(maximum))
    return validationFailure("numeric instance is greater than the required maximum (maximum: " + std::to_string(maximum) +
                             ", found: " + v.dump() + ")");
  long long n = v.get<long long>();
  if (n < 1) return validationFailure("numeric instance is lower than the required minimum (minimum: 1, found: " + v.dump() + ")");
  if (n > maximum)
    return validationFailure("numeric instance is greater than the required maximum (maximum: " + std::to_string(maximum) +
                             ", found: " + v.dump() + ")");
  return n;
}

Result<std::vector<std::string>> stringList(const json& v) {
  if (!v.is_array()) return wrongType(v, "array");
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string()) return wrongType(item, "string");
    out.push_back(item.get<std::string>());
  }
  return out;
}

Result<LifecycleRule> parseSelection(const json& selection, LifecycleRule rule) {
  if (!selection.is_object()) return wrongType(selection, "object");
  if (auto e = checkMembers(selection, {"tagStatus", "countType", "countNumber"},
                            {"tagPrefixList", "tagPatternList", "countUnit"}))
    return *e;
  if (auto e = checkEnum(selection["tagStatus"], {"tagged", "untagged", "any"})) return *e;
  const std::string tagStatus = selection["tagStatus"].get<std::string>();
  rule.tagStatus = tagStatus == "tagged" ? TagStatus::kTagged : tagStatus == "untagged" ? TagStatus::kUntagged : TagStatus::kAny;

  // The schema's selection is oneOf {imageCountMoreThan without countUnit,
  // sinceImagePushed with countUnit "days"}; any other combination matches neither.
  const json& countType = selection["countType"];
  const bool hasUnit = selection.contains("countUnit");
  if (countType == "imageCountMoreThan" && !hasUnit) {
    rule.countType = CountType::kImageCountMoreThan;
  } else if (countType == "sinceImagePushed" && hasUnit && selection["countUnit"] == "days") {
    rule.countType = CountType::kSinceImagePushed;
    rule.countUnit = "days";
  } else {
    return validationFailure("instance failed to match exactly one schema (matched 0 out of 2)");
  }
  auto count = positiveInteger(selection["countNumber"], LLONG_MAX);
  if (!count.ok()) return count.takeError();
  rule.countNumber = *count;

  if (selection.contains("tagPrefixList")) {
    auto l = stringList(selection["tagPrefixList"]);
    if (!l.ok()) return l.takeError();
    rule.tagPrefixList = std::move(*l);
  }
  if (selection.contains("tagPatternList")) {
    auto l = stringList(selection["tagPatternList"]);
    if (!l.ok()) return l.takeError();
    rule.tagPatternList = std::move(*l);
  }

  const bool hasPrefixes = selection.contains("tagPrefixList");
  const bool hasPatterns = selection.contains("tagPatternList");
  switch (rule.tagStatus) {
    case TagStatus::kTagged:
      if (hasPrefixes && hasPatterns)
        return validationFailure("tagPrefixList and tagPatternList cannot both be specified in a rule (rulePriority " +
                                 std::to_string(rule.rulePriority) + ").");
      if (rule.tagPrefixList.empty() && rule.tagPatternList.empty())
        return validationFailure("Must specify tagPrefixList or tagPatternList when tagStatus=TAGGED.");
      break;
    case TagStatus::kUntagged:
      if (hasPrefixes || hasPatterns)
        return validationFailure("tagPrefixList and tagPatternList must be omitted when tagStatus=UNTAGGED.");
      break;
    case TagStatus::kAny:
      if (hasPrefixes || hasPatterns)
        return validationFailure("tagPrefixList and tagPatternList must be omitted when tagStatus=ANY.");
      break;
  }
  for (const auto& p : rule.tagPatternList) {
    if (std::count(p.begin(), p.end(), '*') > kMaxWildcardsPerPattern)
      return validationFailure("Tag pattern '" + p + "' has more than " + std::to_string(kMaxWildcardsPerPattern) +
                               " wildcards (*).");
  }
  return rule;
}

Result<LifecycleRule> parseRule(const json& r) {
  if (!r.is_object()) return wrongType(r, "object");
  if (auto e = checkMembers(r, {"rulePriority", "selection", "action"}, {"description"})) return *e;
  LifecycleRule rule;
  auto priority = positiveInteger(r["rulePriority"], INT_MAX);
  if (!priority.ok()) return priority.takeError();
  rule.rulePriority = static_cast<int>(*priority);
  if (r.contains("description")) {
    if (!r["description"].is_string()) return wrongType(r["description"], "string");
    rule.description = r["description"].get<std::string>();
  }
  const json& action = r["action"];
  if (!action.is_object()) return wrongType(action, "object");
  if (auto e = checkMembers(action, {"type"}, {})) return *e;
  if (auto e = checkEnum(action["type"], {"expire"})) return *e;
  return parseSelection(r["selection"], std::move(rule));
}

// Whole-tag glob match where '*' matches any run of characters (also none).
bool globMatch(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, starP = std::string_view::npos, starT = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      starP = p++;
      starT = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (starP != std::string_view::npos) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Every prefix/pattern must be matched by at least one of the image's tags.
bool selects(const LifecycleRule& rule, const ImageFacts& image) {
  switch (rule.tagStatus) {
    case TagStatus::kAny: return true;
    case TagStatus::kUntagged: return image.tags.empty();
    case TagStatus::kTagged: break;
  }
  if (image.tags.empty()) return false;
  auto someTag = [&](auto&& pred) { return std::any_of(image.tags.begin(), image.tags.end(), pred); };
  for (const auto& prefix : rule.tagPrefixList)
    if (!someTag([&](const std::string& t) { return t.rfind(prefix, 0) == 0; })) return false;
  for (const auto& pattern : rule.tagPatternList)
    if (!someTag([&](const std::string& t) { return globMatch(pattern, t); })) return false;
  return true;
}

bool olderFirst(const ImageFacts* a, const ImageFacts* b) {
  if (a->pushedAt != b->pushedAt) return a->pushedAt < b->pushedAt;
  return a->digest < b->digest;
}

}  // namespace

Result<LifecyclePolicy> parseLifecyclePolicy(std::string_view text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return validationFailure("Could not map policyString into LifecyclePolicy.");
  if (auto e = checkMembers(doc, {"rules"}, {})) return *e;
  const json& rules = doc["rules"];
  if (!rules.is_array()) return wrongType(rules, "array");
  if (rules.empty())
    return validationFailure("array is too short: must have at least 1 elements but instance has 0 elements");

  LifecyclePolicy policy;
  for (const auto& r : rules) {
    auto rule = parseRule(r);
    if (!rule.ok()) return rule.takeError();
    policy.rules.push_back(std::move(*rule));
  }

  std::set<int> priorities;
  int untagged = 0;
  for (const auto& rule : policy.rules) {
    if (!priorities.insert(rule.rulePriority).second)
      return validationFailure("Rule priorities must be unique. Duplicate rulePriority: " + std::to_string(rule.rulePriority) + ".");
    if (rule.tagStatus == TagStatus::kUntagged && ++untagged > 1)
      return validationFailure("Only one rule can select Untagged images.");
  }
  std::sort(policy.rules.begin(), policy.rules.end(),
            [](const LifecycleRule& a, const LifecycleRule& b) { return a.rulePriority < b.rulePriority; });
  for (std::size_t i = 0; i + 1 < policy.rules.size(); ++i)
    if (policy.rules[i].tagStatus == TagStatus::kAny)
      return validationFailure("Rule for tagStatus=ANY must have the lowest priority.");
  return policy;
}

std::vector<Expiration> evaluateLifecyclePolicy(const LifecyclePolicy& policy, const std::vector<ImageFacts>& images,
                                                double nowEpochSeconds) {
  std::vector<const ImageFacts*> byAge;
  byAge.reserve(images.size());
  for (const auto& i : images) byAge.push_back(&i);
  std::sort(byAge.begin(), byAge.end(), olderFirst);

  // Images a rule already selected (expired or kept): protected from later rules.
  std::unordered_set<const ImageFacts*> claimed;
  std::vector<std::pair<const ImageFacts*, int>> expired;
  for (const auto& rule : policy.rules) {
    std::vector<const ImageFacts*> selected;
    for (const auto* i : byAge)
      if (selects(rule, *i)) selected.push_back(i);

    // Candidates in age order: every selected image still counts here, even
    // one an earlier rule claimed; it just cannot be expired by this rule.
    std::vector<const ImageFacts*> candidates;
    if (rule.countType == CountType::kImageCountMoreThan) {
      const auto keep = static_cast<std::size_t>(std::min<long long>(rule.countNumber, static_cast<long long>(selected.size())));
      candidates.assign(selected.begin(), selected.end() - static_cast<std::ptrdiff_t>(keep));
    } else {
      const double maxAge = static_cast<double>(rule.countNumber) * kSecondsPerDay;
      for (const auto* i : selected)
        if (nowEpochSeconds - i->pushedAt > maxAge) candidates.push_back(i);
    }
    for (const auto* c : candidates)
      if (!claimed.count(c)) expired.emplace_back(c, rule.rulePriority);
    claimed.insert(selected.begin(), selected.end());
  }

  std::sort(expired.begin(), expired.end(), [](const auto& a, const auto& b) { return olderFirst(a.first, b.first); });
  std::vector<Expiration> out;
  out.reserve(expired.size());
  for (const auto& [i, priority] : expired)
    out.push_back(Expiration{i->digest, i->tags, i->pushedAt, priority, i->sizeInBytes, i->manifestMediaType,
                             i->artifactMediaType});
  return out;
}

}  // namespace berth::registry

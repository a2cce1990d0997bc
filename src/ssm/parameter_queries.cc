#include "ssm/parameter_queries.h"

#include <algorithm>

#include "control/pagination.h"
#include "ssm/keys.h"
#include "ssm/parameter_name.h"
#include "ssm/parameter_ops.h"
#include "ssm/ssm_errors.h"

namespace berth::ssm {
namespace {

using nlohmann::json;

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

// Checks and defaults one filter. `allowedKeys` lists plain keys; tag:KEY is
// allowed when `allowTags`.
Result<ParameterFilter> parseFilter(const json& f, const std::vector<std::string>& allowedKeys, bool allowTags) {
  ParameterFilter out;
  out.key = f.value("Key", "");
  bool isTag = out.key.starts_with("tag:") && out.key.size() > 4;
  if (!(contains(allowedKeys, out.key) || (allowTags && isTag)))
    return namedInvalidInput("InvalidFilterKey", "The following filter key is not valid: " + out.key +
                                                     ". Valid filter keys include: [" + join(allowedKeys) + "].");
  if (auto it = f.find("Values"); it != f.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) out.values.push_back(v.get<std::string>());
  std::vector<std::string> options = {"Equals"};
  if (out.key == "Name") options = {"Equals", "BeginsWith", "Contains"};
  if (out.key == "Path") options = {"Recursive", "OneLevel"};
  if (isTag) options = {"Equals"};
  out.option = f.value("Option", options.front() == "Recursive" ? "OneLevel" : "Equals");
  if (!contains(options, out.option))
    return namedInvalidInput("InvalidFilterOption", "The following filter option is not valid: " + out.option +
                                                        ". Valid options include: [" + join(options) + "].");
  if (out.values.empty() && !isTag)
    return namedInvalidInput("InvalidFilterValue",
                             "The following filter values are missing : null for filter key " + out.key + ".");
  if (out.key == "Type")
    for (const auto& v : out.values)
      if (v != "String" && v != "StringList" && v != "SecureString")
        return namedInvalidInput("InvalidFilterValue", "The following filter value is not valid: " + v +
                                                           ". Valid values include: [String, StringList, SecureString].");
  if (out.key == "Path")
    for (auto& v : out.values) {
      auto p = normalizePath(v);
      if (!p.ok()) return namedInvalidInput("InvalidFilterValue", "The following filter value is not valid: " + v + ".");
      v = *p;
    }
  return out;
}

Result<std::vector<ParameterFilter>> parseFilters(const json& request, const char* field,
                                                  const std::vector<std::string>& allowedKeys, bool allowTags) {
  std::vector<ParameterFilter> out;
  auto it = request.find(field);
  if (it == request.end() || !it->is_array()) return out;
  for (const auto& f : *it) {
    auto pf = parseFilter(f, allowedKeys, allowTags);
    if (!pf.ok()) return pf.takeError();
    out.push_back(std::move(*pf));
  }
  return out;
}

bool nameMatches(const std::string& option, const std::string& name, const std::string& value) {
  // "x" and "/x" are one parameter, so a value with or without the leading slash matches either.
  std::vector<std::string> forms = {name};
  if (!name.starts_with("/")) forms.push_back("/" + name);
  return std::any_of(forms.begin(), forms.end(), [&](const std::string& n) {
    if (option == "Equals") return canonicalName(n) == canonicalName(value);
    if (option == "BeginsWith") return n.starts_with(value);
    return n.find(value) != std::string::npos;  // Contains
  });
}

Result<control::Page> pageOf(SsmContext& ctx, const json& request, const std::string& prefix, const std::string& scope,
                             std::int64_t defaultMax,
                             const std::function<std::optional<json>(const json& doc)>& select) {
  control::PageRequest page{request.value("NextToken", ""), defaultMax};
  if (auto it = request.find("MaxResults"); it != request.end() && it->is_number_integer()) page.maxResults = it->get<std::int64_t>();
  auto result = control::paginate(ctx.ecs.cache, prefix, scope, page,
                                  [&](const std::string&, const control::CachedObject& obj) { return select(obj.doc); });
  if (!result.ok()) return namedInvalidInput("InvalidNextToken", "The specified token is not valid.");
  return result;
}

}  // namespace

bool filterMatches(const ParameterFilter& f, const json& doc) {
  const json& v = doc["versions"].back();
  const std::string name = doc["Name"].get<std::string>();
  auto anyValue = [&](const std::function<bool(const std::string&)>& pred) {
    return std::any_of(f.values.begin(), f.values.end(), pred);
  };
  if (f.key == "Name") return anyValue([&](const std::string& x) { return nameMatches(f.option, name, x); });
  if (f.key == "Path")
    return anyValue([&](const std::string& p) { return isUnderPath(name, p, f.option == "Recursive"); });
  if (f.key == "Type") return anyValue([&](const std::string& x) { return v["Type"] == x; });
  if (f.key == "KeyId") return anyValue([&](const std::string& x) { return v.value("KeyId", "") == x; });
  if (f.key == "DataType") return anyValue([&](const std::string& x) { return doc.value("DataType", "text") == x; });
  if (f.key == "Tier") return anyValue([&](const std::string& x) { return doc.value("Tier", "Standard") == x; });
  if (f.key == "Label") {
    const auto& versions = doc["versions"];
    return anyValue([&](const std::string& x) {
      return std::any_of(versions.begin(), versions.end(), [&](const json& ver) {
        const auto& labels = ver.value("Labels", json::array());
        return std::find(labels.begin(), labels.end(), x) != labels.end();
      });
    });
  }
  if (f.key.starts_with("tag:")) {
    const std::string tagKey = f.key.substr(4);
    for (const auto& t : doc.value("Tags", json::array()))
      if (t.value("Key", "") == tagKey) return f.values.empty() || contains(f.values, t.value("Value", ""));
    return false;
  }
  return false;
}

Result<json> getParametersByPath(SsmContext& ctx, const json& request) {
  auto path = normalizePath(request.value("Path", ""));
  if (!path.ok()) return path.takeError();
  const bool recursive = request.value("Recursive", false);
  const bool decrypt = request.value("WithDecryption", false);
  auto filters = parseFilters(request, "ParameterFilters", {"Type", "KeyId", "Label"}, false);
  if (!filters.ok()) return filters.takeError();
  // Hierarchical names are stored under their full path; top-level ones ("x" = "/x") anywhere, so "/" scans all.
  const std::string prefix = *path == "/" ? std::string(keys::kParameterPrefix) : keys::parameter(*path);
  const std::string scope = "ssm-path:" + *path + (recursive ? ":r" : ":1");
  Status renderFailure = okStatus();
  auto page = pageOf(ctx, request, prefix, scope, 10, [&](const json& doc) -> std::optional<json> {
    if (!isUnderPath(doc["Name"].get<std::string>(), *path, recursive)) return std::nullopt;
    for (const auto& f : *filters)
      if (!filterMatches(f, doc)) return std::nullopt;
    auto p = renderParameter(ctx, doc, doc["versions"].back(), decrypt);
    if (!p.ok()) {
      if (renderFailure.ok()) renderFailure = p.takeError();
      return std::nullopt;
    }
    return std::move(*p);
  });
  if (!page.ok()) return page.takeError();
  if (!renderFailure.ok()) return renderFailure.takeError();
  json out = {{"Parameters", std::move(page->items)}};
  if (page->nextToken) out["NextToken"] = *page->nextToken;
  return out;
}

Result<json> describeParameters(SsmContext& ctx, const json& request) {
  auto nonEmpty = [&](const char* field) {
    auto it = request.find(field);
    return it != request.end() && it->is_array() && !it->empty();
  };
  if (nonEmpty("Filters") && nonEmpty("ParameterFilters"))
    return validationError("You can use either Filters or ParameterFilters in a single request.");
  std::vector<ParameterFilter> filters;
  if (nonEmpty("Filters")) {
    // The legacy filters: Name means "begins with".
    for (const auto& f : request["Filters"]) {
      json asString = {{"Key", f.value("Key", "")}, {"Values", f.value("Values", json::array())}};
      if (asString["Key"] == "Name") asString["Option"] = "BeginsWith";
      auto pf = parseFilter(asString, {"Name", "Type", "KeyId"}, false);
      if (!pf.ok()) return pf.takeError();
      filters.push_back(std::move(*pf));
    }
  } else {
    auto pf = parseFilters(request, "ParameterFilters", {"Name", "Path", "Type", "KeyId", "DataType", "Tier", "Label"}, true);
    if (!pf.ok()) return pf.takeError();
    filters = std::move(*pf);
  }
  auto page = pageOf(ctx, request, std::string(keys::kParameterPrefix), "ssm-describe", 50,
                     [&](const json& doc) -> std::optional<json> {
                       for (const auto& f : filters)
                         if (!filterMatches(f, doc)) return std::nullopt;
                       return renderMetadata(doc);
                     });
  if (!page.ok()) return page.takeError();
  json out = {{"Parameters", std::move(page->items)}};
  if (page->nextToken) out["NextToken"] = *page->nextToken;
  return out;
}

}  // namespace berth::ssm

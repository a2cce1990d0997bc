#include "ssm/parameter_ops.h"

#include <algorithm>
#include <chrono>
#include <regex>
#include <set>

#include "control/committer.h"
#include "control/pagination.h"
#include "ssm/keys.h"
#include "ssm/parameter_name.h"
#include "ssm/ssm_errors.h"

namespace berth::ssm {
namespace {

using nlohmann::json;

constexpr std::size_t kStandardValueMax = 4096;
constexpr std::size_t kAdvancedValueMax = 8192;
constexpr const char* kDefaultKeyId = "alias/aws/ssm";

double nowSeconds(const SsmContext& ctx) {
  return std::chrono::duration<double>(ctx.ecs.clock.now().time_since_epoch()).count();
}

std::string str(const json& req, const char* field) {
  auto it = req.find(field);
  return it != req.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool has(const json& req, const char* field) {
  auto it = req.find(field);
  return it != req.end() && !it->is_null();
}
bool flag(const json& req, const char* field) {
  auto it = req.find(field);
  return it != req.end() && it->is_boolean() && it->get<bool>();
}

// Characters, as AWS counts value lengths (UTF-8 continuation bytes excluded).
std::size_t codePoints(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Status checkAllowedPattern(const std::string& pattern, const std::string& value) {
  if (pattern.empty()) return okStatus();
  try {
    std::regex re(pattern, std::regex::ECMAScript);
    if (std::regex_match(value, re)) return okStatus();
  } catch (const std::regex_error&) {
    return namedInvalidInput("InvalidAllowedPatternException",
                             "The allowed pattern is not a valid regular expression: " + pattern);
  }
  return Error::make(ErrorCode::kParameterPatternMismatch,
                     "Parameter value, cannot be validated against allowedPattern: " + pattern);
}

Status checkDataType(const std::string& dataType) {
  if (dataType == "text" || dataType == "aws:ec2:image" || dataType == "aws:ssm:integration") return okStatus();
  return validationError("The following data type is not supported: " + dataType +
                         " (Data type names are all lowercase.)");
}

// The index of the stored version a reference selects, or the error GetParameter reports.
Result<std::size_t> selectVersion(const json& doc, const ParameterRef& ref) {
  const json& versions = doc["versions"];
  if (!ref.version && ref.label.empty()) return versions.size() - 1;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    const json& v = versions[i];
    if (ref.version && v["Version"].get<std::int64_t>() == *ref.version) return i;
    if (!ref.label.empty()) {
      const auto& labels = v.value("Labels", json::array());
      if (std::find(labels.begin(), labels.end(), ref.label) != labels.end()) return i;
    }
  }
  if (ref.version)
    return Error::make(ErrorCode::kParameterVersionNotFound,
                       "Systems Manager could not find version " + std::to_string(*ref.version) + " of " + ref.name +
                           ". Verify the version and try again.");
  return parameterNotFound(ref.name + ref.selector);
}

struct Lookup {
  json doc;
  std::size_t versionIndex = 0;  // into doc["versions"]
  ParameterRef ref;
  const json& version() const { return doc["versions"][versionIndex]; }
};

// Resolves a GetParameter-style reference against the cache.
Result<Lookup> lookup(const SsmContext& ctx, const std::string& text) {
  auto ref = parseParameterRef(text, ctx.ecs.account);
  if (!ref) return parameterNotFound(text);
  auto stored = ctx.ecs.cache.get(keys::parameter(canonicalName(ref->name)));
  if (!stored) return parameterNotFound(text);
  Lookup out{std::move(stored->doc), 0, std::move(*ref)};
  auto v = selectVersion(out.doc, out.ref);
  if (!v.ok()) return v.takeError();
  out.versionIndex = *v;
  return out;
}

json tagsFrom(const json& req) {
  json tags = json::array();
  if (auto it = req.find("Tags"); it != req.end() && it->is_array())
    for (const auto& t : *it) tags.push_back({{"Key", t.value("Key", "")}, {"Value", t.value("Value", "")}});
  return tags;
}

}  // namespace

Result<json> renderParameter(const SsmContext& ctx, const json& doc, const json& version, bool withDecryption,
                             const std::string& selector) {
  const std::string name = doc["Name"].get<std::string>();
  json out = {{"Name", name},
              {"Type", version["Type"]},
              {"Version", version["Version"]},
              {"LastModifiedDate", version["LastModifiedDate"]},
              {"ARN", parameterArn(ctx.ecs.account, name)},
              {"DataType", doc.value("DataType", "text")}};
  if (version.contains("Ciphertext")) {
    const std::string sealed = version["Ciphertext"].get<std::string>();
    if (withDecryption) {
      auto plain = ctx.cipher.open(sealed, canonicalName(name));
      if (!plain.ok())
        return Error::make(ErrorCode::kInternal, "The SecureString value of " + name +
                                                     " cannot be decrypted with this server's key (was DATA/ssm.key replaced?).");
      out["Value"] = std::move(*plain);
    } else {
      out["Value"] = sealed;  // as AWS returns the KMS ciphertext
    }
  } else {
    out["Value"] = version.value("Value", "");
  }
  if (!selector.empty()) out["Selector"] = selector;
  return out;
}

json renderMetadata(const json& doc) {
  const json& v = doc["versions"].back();
  json out = {{"Name", doc["Name"]},
              {"Type", v["Type"]},
              {"LastModifiedDate", v["LastModifiedDate"]},
              {"LastModifiedUser", v.value("LastModifiedUser", "")},
              {"Version", v["Version"]},
              {"Tier", doc.value("Tier", "Standard")},
              {"Policies", json::array()},
              {"DataType", doc.value("DataType", "text")}};
  if (v.contains("KeyId")) out["KeyId"] = v["KeyId"];
  if (v.contains("Description")) out["Description"] = v["Description"];
  if (v.contains("AllowedPattern")) out["AllowedPattern"] = v["AllowedPattern"];
  return out;
}

Result<json> putParameter(SsmContext& ctx, const json& request) {
  const std::string name = str(request, "Name");
  BERTH_TRY(validateNewParameterName(name));
  const std::string value = str(request, "Value");
  if (value.empty())  // the value is sensitive: Coral leaves it out of the message
    return validationError(
        "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length greater "
        "than or equal to 1");
  const bool overwrite = flag(request, "Overwrite");
  if (overwrite && has(request, "Tags") && !request["Tags"].empty())
    return validationError(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove "
        "overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or "
        "RemoveTagsFromResource.");
  if (has(request, "DataType")) BERTH_TRY(checkDataType(str(request, "DataType")));

  const std::string canonical = canonicalName(name);
  const std::string key = keys::parameter(canonical);
  json response;
  auto committed = control::commitWithRetry(ctx.ecs, [&]() -> Result<store::TxnRequest> {
    auto existing = ctx.ecs.cache.get(key);
    if (existing && !overwrite)
      return Error::make(ErrorCode::kAlreadyExists,
                         "The parameter already exists. To overwrite this value, set the overwrite option in the "
                         "request to true.",
                         name);
    const json* last = existing ? &existing->doc["versions"].back() : nullptr;
    std::string type = str(request, "Type");
    if (type.empty()) {
      if (!last) return validationError("A parameter type is required when you create a parameter.");
      type = (*last)["Type"].get<std::string>();
    }
    if (has(request, "KeyId") && type != "SecureString")
      return validationError("KeyId is required for SecureString type parameter only.");
    auto inherited = [&](const char* field) -> std::optional<std::string> {
      if (has(request, field)) return str(request, field);
      if (last && last->contains(field)) return (*last)[field].get<std::string>();
      return std::nullopt;
    };
    auto description = inherited("Description");
    auto allowedPattern = inherited("AllowedPattern");
    BERTH_TRY(checkAllowedPattern(allowedPattern.value_or(""), value));

    // Tier: Intelligent-Tiering picks the cheapest that fits; an advanced
    // parameter never goes back to standard.
    const std::string oldTier = existing ? existing->doc.value("Tier", "Standard") : "Standard";
    std::string tier = has(request, "Tier") ? str(request, "Tier") : oldTier;
    const std::size_t length = codePoints(value);
    if (tier == "Intelligent-Tiering") tier = (length > kStandardValueMax || oldTier == "Advanced") ? "Advanced" : "Standard";
    if (tier == "Standard" && oldTier == "Advanced")
      return validationError(
          "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter "
          "tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a "
          "standard parameter.");
    if (tier == "Standard" && length > kStandardValueMax)
      return validationError(
          "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter "
          "value, upgrade the parameter to use the advanced-parameter tier. For more information, see "
          "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html");
    if (length > kAdvancedValueMax)
      return validationError("Advanced tier parameters support a maximum parameter value of 8192 characters.");

    json doc = existing ? existing->doc
                        : json{{"Name", name}, {"Tags", tagsFrom(request)}, {"versions", json::array()}};
    doc["Tier"] = tier;
    if (has(request, "DataType")) doc["DataType"] = str(request, "DataType");
    else if (!doc.contains("DataType")) doc["DataType"] = "text";

    const std::int64_t version = last ? (*last)["Version"].get<std::int64_t>() + 1 : 1;
    json v = {{"Version", version},
              {"Type", type},
              {"LastModifiedDate", nowSeconds(ctx)},
              {"LastModifiedUser", ctx.ecs.callerArn()},
              {"Labels", json::array()}};
    if (type == "SecureString") {
      auto sealed = ctx.cipher.seal(value, canonical);
      if (!sealed.ok()) return sealed.takeError();
      v["Ciphertext"] = std::move(*sealed);
      v["KeyId"] = has(request, "KeyId") ? str(request, "KeyId")
                   : (last && last->contains("KeyId")) ? (*last)["KeyId"].get<std::string>()
                                                       : std::string(kDefaultKeyId);
    } else {
      v["Value"] = value;
    }
    if (description) v["Description"] = *description;
    if (allowedPattern) v["AllowedPattern"] = *allowedPattern;
    auto& versions = doc["versions"];
    versions.push_back(std::move(v));
    // AWS refuses the 101st version while the oldest is labelled; Berth keeps it simple and drops the oldest.
    while (versions.size() > keys::kMaxVersions) versions.erase(versions.begin());
    response = {{"Version", version}, {"Tier", tier}};
    return store::TxnRequest{{control::pinned(ctx.ecs.cache, key)}, {store::Op::put(key, doc.dump())}};
  });
  if (!committed.ok()) return committed.takeError();
  return response;
}

Result<json> getParameter(SsmContext& ctx, const json& request) {
  auto found = lookup(ctx, str(request, "Name"));
  if (!found.ok()) return found.takeError();
  auto p = renderParameter(ctx, found->doc, found->version(), flag(request, "WithDecryption"), found->ref.selector);
  if (!p.ok()) return p.takeError();
  return json{{"Parameter", std::move(*p)}};
}

Result<json> getParameters(SsmContext& ctx, const json& request) {
  json parameters = json::array();
  json invalid = json::array();
  std::set<std::string> seen;
  const bool decrypt = flag(request, "WithDecryption");
  for (const auto& n : request.value("Names", json::array())) {
    if (!n.is_string()) continue;
    const std::string text = n.get<std::string>();
    if (!seen.insert(text).second) continue;
    auto found = lookup(ctx, text);
    if (!found.ok()) {
      if (found.error().code == ErrorCode::kNotFound || found.error().code == ErrorCode::kParameterVersionNotFound) {
        invalid.push_back(text);
        continue;
      }
      return found.takeError();
    }
    auto p = renderParameter(ctx, found->doc, found->version(), decrypt, found->ref.selector);
    if (!p.ok()) return p.takeError();
    parameters.push_back(std::move(*p));
  }
  return json{{"Parameters", std::move(parameters)}, {"InvalidParameters", std::move(invalid)}};
}

Result<json> deleteParameter(SsmContext& ctx, const json& request) {
  const std::string name = str(request, "Name");
  if (!isWellFormedParameterName(name)) return parameterNotFound(name);
  const std::string key = keys::parameter(canonicalName(name));
  auto committed = control::commitWithRetry(ctx.ecs, [&]() -> Result<store::TxnRequest> {
    auto existing = ctx.ecs.cache.get(key);
    if (!existing) return parameterNotFound(name);
    return store::TxnRequest{{control::pinned(ctx.ecs.cache, key)}, {store::Op::del(key)}};
  });
  if (!committed.ok()) return committed.takeError();
  return json::object();
}

Result<json> deleteParameters(SsmContext& ctx, const json& request) {
  json deleted, invalid;
  auto committed = control::commitWithRetry(ctx.ecs, [&]() -> Result<store::TxnRequest> {
    deleted = json::array();
    invalid = json::array();
    store::TxnRequest txn;
    std::set<std::string> seenKeys;
    for (const auto& n : request.value("Names", json::array())) {
      if (!n.is_string()) continue;
      const std::string name = n.get<std::string>();
      const std::string key = keys::parameter(canonicalName(name));
      if (!isWellFormedParameterName(name) || !ctx.ecs.cache.get(key)) {
        invalid.push_back(name);
        continue;
      }
      if (!seenKeys.insert(key).second) continue;
      txn.compares.push_back(control::pinned(ctx.ecs.cache, key));
      txn.ops.push_back(store::Op::del(key));
      deleted.push_back(name);
    }
    return txn;
  });
  if (!committed.ok()) return committed.takeError();
  return json{{"DeletedParameters", deleted}, {"InvalidParameters", invalid}};
}

Result<json> getParameterHistory(SsmContext& ctx, const json& request) {
  const std::string name = str(request, "Name");
  auto ref = parseParameterRef(name, ctx.ecs.account);
  if (!ref || !ref->selector.empty()) return parameterNotFound(name);
  auto stored = ctx.ecs.cache.get(keys::parameter(canonicalName(ref->name)));
  if (!stored) return parameterNotFound(name);
  const json& doc = stored->doc;
  const json& versions = doc["versions"];
  // Token: the index of the next version to return, bound to this parameter.
  const std::string scope = "ssm-history:" + canonicalName(ref->name);
  std::size_t start = 0;
  if (has(request, "NextToken")) {
    auto k = control::decodePageToken(scope, str(request, "NextToken"));
    if (!k.ok() || k->empty() || !std::all_of(k->begin(), k->end(), ::isdigit) || k->size() > 6)
      return namedInvalidInput("InvalidNextToken", "The specified token is not valid.");
    start = std::stoul(*k);
  }
  const std::size_t max = request.contains("MaxResults") && request["MaxResults"].is_number_integer()
                              ? request["MaxResults"].get<std::size_t>()
                              : 50;
  const bool decrypt = flag(request, "WithDecryption");
  json out = json::array();
  std::size_t i = start;
  for (; i < versions.size() && out.size() < max; ++i) {
    const json& v = versions[i];
    auto p = renderParameter(ctx, doc, v, decrypt);
    if (!p.ok()) return p.takeError();
    json h = {{"Name", doc["Name"]},           {"Type", v["Type"]},
              {"LastModifiedDate", v["LastModifiedDate"]}, {"LastModifiedUser", v.value("LastModifiedUser", "")},
              {"Value", (*p)["Value"]},        {"Version", v["Version"]},
              {"Labels", v.value("Labels", json::array())}, {"Tier", doc.value("Tier", "Standard")},
              {"Policies", json::array()},     {"DataType", doc.value("DataType", "text")}};
    if (v.contains("KeyId")) h["KeyId"] = v["KeyId"];
    if (v.contains("Description")) h["Description"] = v["Description"];
    if (v.contains("AllowedPattern")) h["AllowedPattern"] = v["AllowedPattern"];
    out.push_back(std::move(h));
  }
  json result = {{"Parameters", std::move(out)}};
  if (i < versions.size()) result["NextToken"] = control::encodePageToken(scope, std::to_string(i));
  return result;
}

}  // namespace berth::ssm

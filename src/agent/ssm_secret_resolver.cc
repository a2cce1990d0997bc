#include "agent/ssm_secret_resolver.h"

#include <algorithm>
#include <map>
#include <set>

namespace berth::agent {
namespace {

constexpr const char* kEcsPrefix =
    "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: ";

// "x" and "/x" are one parameter; a selector stays part of what was asked for.
std::string matchKey(std::string name, const std::string& selector) {
  if (name.size() > 1 && name.front() == '/' && name.find('/', 1) == std::string::npos) name.erase(0, 1);
  return name + selector;
}

// Splits "name:3" / "name:label" into name and ":3" (names cannot contain ':').
std::pair<std::string, std::string> splitSelector(const std::string& ref) {
  auto colon = ref.rfind(':');
  if (colon == std::string::npos) return {ref, ""};
  return {ref.substr(0, colon), ref.substr(colon)};
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ",") + n;
  return out;
}

}  // namespace

Result<std::string> ssmNameForValueFrom(const std::string& valueFrom, const std::string& region) {
  if (valueFrom.empty())
    return Error::make(ErrorCode::kInvalidParameter, "a secret's valueFrom is empty; name an SSM parameter or its ARN");
  if (!valueFrom.starts_with("arn:")) return valueFrom;
  // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    auto colon = valueFrom.find(':', start);
    if (colon == std::string::npos)
      return Error::make(ErrorCode::kInvalidParameter, "secret valueFrom " + valueFrom + " is not a valid ARN");
    parts.push_back(valueFrom.substr(start, colon - start));
    start = colon + 1;
  }
  const std::string resource = valueFrom.substr(start);
  if (parts[2] == "secretsmanager")
    return Error::make(ErrorCode::kInvalidParameter,
                       std::string(kEcsPrefix) + "secret " + valueFrom +
                           ": AWS Secrets Manager is not supported by Berth; store the value in SSM Parameter Store "
                           "(aws ssm put-parameter --type SecureString) and reference the parameter");
  if (parts[2] != "ssm" || !resource.starts_with("parameter/") || resource.size() == std::string("parameter/").size())
    return Error::make(ErrorCode::kInvalidParameter,
                       "secret valueFrom " + valueFrom + " is neither an SSM parameter name nor an SSM parameter ARN");
  if (!parts[3].empty() && parts[3] != region)
    return Error::make(ErrorCode::kInvalidParameter,
                       std::string(kEcsPrefix) + "secret " + valueFrom + " is in region " + parts[3] +
                           "; this Berth server's Parameter Store serves region " + region);
  // "parameter/x" is "x"; "parameter/a/b" is the hierarchical "/a/b".
  std::string name = resource.substr(std::string("parameter").size());  // "/x" or "/a/b"
  if (name.find('/', 1) == std::string::npos) name.erase(0, 1);
  return name;
}

Result<std::vector<std::pair<std::string, std::string>>> SsmSecretResolver::resolve(
    const std::vector<ContainerSecret>& secrets, const TaskPlan&) {
  // Names to ask for, each once, in first-seen order.
  std::vector<std::string> names;
  std::vector<std::string> keyOfSecret;
  std::set<std::string> asked;
  for (const auto& s : secrets) {
    auto name = ssmNameForValueFrom(s.valueFrom, region_);
    if (!name.ok()) return name.takeError();
    auto [bare, selector] = splitSelector(*name);
    keyOfSecret.push_back(matchKey(bare, selector));
    if (asked.insert(*name).second) names.push_back(*name);
  }

  std::map<std::string, std::string> values;  // match key → value
  std::vector<std::string> invalid;
  for (std::size_t i = 0; i < names.size(); i += kMaxNamesPerCall) {
    nlohmann::json batch = nlohmann::json::array();
    for (std::size_t j = i; j < std::min(names.size(), i + kMaxNamesPerCall); ++j) batch.push_back(names[j]);
    auto result = source_.getParameters({{"Names", batch}, {"WithDecryption", true}});
    if (!result.ok()) {
      // The server's error names the call's failure, never a value.
      Error e = result.takeError();
      std::string what = e.context.empty() ? e.message : e.context + ": " + e.message;
      return Error::make(e.code, std::string(kEcsPrefix) +
                                     "unable to retrieve secrets from ssm: service call has been retried 1 time(s): " + what);
    }
    for (const auto& n : result->value("InvalidParameters", nlohmann::json::array()))
      if (n.is_string()) invalid.push_back(n.get<std::string>());
    for (const auto& p : result->value("Parameters", nlohmann::json::array())) {
      if (!p.is_object() || !p.contains("Name") || !p.contains("Value") || !p["Name"].is_string() || !p["Value"].is_string())
        continue;
      values[matchKey(p["Name"].get<std::string>(), p.value("Selector", ""))] = p["Value"].get<std::string>();
    }
  }
  // Anything asked for and not answered is as missing as what the server listed.
  for (const auto& n : names) {
    auto [bare, selector] = splitSelector(n);
    if (!values.count(matchKey(bare, selector)) && std::find(invalid.begin(), invalid.end(), n) == invalid.end())
      invalid.push_back(n);
  }
  if (!invalid.empty())
    return Error::make(ErrorCode::kNotFound,
                       std::string(kEcsPrefix) +
                           "unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
                           "invalid ssm parameters: " + joined(invalid));

  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(secrets.size());
  for (std::size_t i = 0; i < secrets.size(); ++i) out.emplace_back(secrets[i].name, values.at(keyOfSecret[i]));
  return out;
}

}  // namespace berth::agent

#include "ssm/parameter_name.h"

#include <algorithm>
#include <cctype>

namespace berth::ssm {
namespace {

bool isNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-' || c == '/';
}

bool startsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

Error validation(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

constexpr const char* kPathRule =
    "If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix "
    "of letters, numbers and the following 3 symbols .-_";

}  // namespace

bool isWellFormedParameterName(std::string_view name) {
  if (name.empty() || name.size() > 2048) return false;
  if (!std::all_of(name.begin(), name.end(), isNameChar)) return false;
  if (name.find('/') == std::string_view::npos) return true;
  // Hierarchical: fully qualified, no empty level, no trailing slash.
  if (name.front() != '/' || name.back() == '/') return false;
  return name.find("//") == std::string_view::npos;
}

Status validateNewParameterName(std::string_view name) {
  bool hierarchical = name.find('/') != std::string_view::npos;
  if (!std::all_of(name.begin(), name.end(), isNameChar) || (hierarchical && (name.back() == '/' || name.find("//") != std::string_view::npos)))
    return validation(std::string("Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). ") +
                      kPathRule);
  if (hierarchical && name.front() != '/')
    return validation("Parameter name must be a fully qualified name.");
  std::string_view first = name.front() == '/' ? name.substr(1) : name;
  if (startsWithIgnoreCase(first, "aws") || startsWithIgnoreCase(first, "ssm")) {
    // AWS words the two forms differently.
    if (std::count(name.begin(), name.end(), '/') > 1)
      return validation(std::string("Parameter name: can't be prefixed with \"ssm\" (case-insensitive). ") + kPathRule);
    return validation("Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive).");
  }
  if (std::count(name.begin(), name.end(), '/') > kMaxHierarchyLevels)
    return Error::make(ErrorCode::kHierarchyLevelLimitExceeded,
                       "A hierarchy can have a maximum of 15 levels. For more information, see Requirements and "
                       "constraints for parameter names in the Amazon Web Services Systems Manager User Guide.");
  // The model allows 2048, of which AWS reserves 1037 for itself.
  if (name.size() > 1011) return validation("Parameter name: the maximum length is 1011 characters.");
  return okStatus();
}

std::string canonicalName(std::string_view name) {
  if (name.size() > 1 && name.front() == '/' && name.find('/', 1) == std::string_view::npos)
    return std::string(name.substr(1));
  return std::string(name);
}

std::string parameterArn(const control::AccountInfo& a, std::string_view name) {
  std::string arn = "arn:" + a.partition + ":ssm:" + a.region + ":" + a.accountId + ":parameter";
  if (name.empty() || name.front() != '/') arn += '/';
  return arn.append(name);
}

std::optional<ParameterRef> parseParameterRef(std::string_view text, const control::AccountInfo& account) {
  std::string_view name = text;
  if (text.starts_with("arn:")) {
    // arn:PARTITION:ssm:REGION:ACCOUNT:parameter/NAME — the name keeps the
    // slash that starts a hierarchy ("parameter/a/b" is "/a/b").
    std::string_view rest = text;
    std::string_view parts[5];
    for (auto& p : parts) {
      auto colon = rest.find(':');
      if (colon == std::string_view::npos) return std::nullopt;
      p = rest.substr(0, colon);
      rest.remove_prefix(colon + 1);
    }
    if (parts[1] != account.partition || parts[2] != "ssm" || parts[3] != account.region || parts[4] != account.accountId ||
        !rest.starts_with("parameter/"))
      return std::nullopt;
    name = rest.substr(std::string_view("parameter").size());  // "/x" or "/a/b"
    if (name.find('/', 1) == std::string_view::npos) name.remove_prefix(1);
  }
  ParameterRef ref;
  if (auto colon = name.rfind(':'); colon != std::string_view::npos) {
    std::string_view sel = name.substr(colon + 1);
    if (sel.empty()) return std::nullopt;
    ref.selector = std::string(name.substr(colon));
    name = name.substr(0, colon);
    if (std::all_of(sel.begin(), sel.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      if (sel.size() > 18) return std::nullopt;
      ref.version = std::stoll(std::string(sel));
    } else {
      ref.label = std::string(sel);
    }
  }
  if (!isWellFormedParameterName(name)) return std::nullopt;
  ref.name = std::string(name);
  return ref;
}

Result<std::string> normalizePath(std::string_view path) {
  std::string p(path);
  if (p.empty() || p.front() != '/' || !std::all_of(p.begin(), p.end(), isNameChar) || p.find("//") != std::string::npos)
    return validation(
        "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward "
        "slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, "
        "numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not "
        "allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: "
        "/get/parameters2-/by1./path0_.");
  if (p.back() != '/') p += '/';
  return p;
}

bool isUnderPath(std::string_view name, std::string_view path, bool recursive) {
  std::string full = name.front() == '/' ? std::string(name) : "/" + std::string(name);
  if (!std::string_view(full).starts_with(path) || full.size() == path.size()) return false;
  return recursive || full.find('/', path.size()) == std::string::npos;
}

}  // namespace berth::ssm

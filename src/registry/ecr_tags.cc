#include "registry/ecr_tags.h"

#include <cctype>
#include <string>

namespace berth::registry {
namespace {

using nlohmann::json;

Error invalidTag(std::string message) { return Error::make(ErrorCode::kInvalidTagParameter, std::move(message)); }

Error tooMany() {
  return Error::make(ErrorCode::kTooManyTags,
                     "The number of tags exceeds the limit of " + std::to_string(kMaxEcrTags) + " tags per resource.");
}

// AWS counts characters, not bytes.
std::size_t utf8Length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// AWS's tag alphabet: letters, digits, whitespace and + - = . _ : / @.
bool validChars(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80 || std::isalnum(c) || std::isspace(c)) continue;
    if (std::string_view("+-=._:/@").find(static_cast<char>(c)) == std::string_view::npos) return false;
  }
  return true;
}

bool reservedPrefix(const std::string& key) {
  return key.size() >= 4 && std::tolower(static_cast<unsigned char>(key[0])) == 'a' &&
         std::tolower(static_cast<unsigned char>(key[1])) == 'w' &&
         std::tolower(static_cast<unsigned char>(key[2])) == 's' && key[3] == ':';
}

}  // namespace

Result<json> validateEcrTags(const json& tags) {
  json out = json::array();
  if (tags.is_null()) return out;
  if (!tags.is_array()) return Error::make(ErrorCode::kSerialization, "tags must be a list");
  for (const auto& t : tags) {
    if (!t.is_object()) return Error::make(ErrorCode::kSerialization, "each tag must be an object");
    auto k = t.find("Key");
    if (k == t.end() || !k->is_string())
      return invalidTag("Invalid parameter at 'tags' failed to satisfy constraint: 'Tag keys must not be null'");
    std::string key = k->get<std::string>();
    std::string value;
    if (auto v = t.find("Value"); v != t.end() && !v->is_null()) {
      if (!v->is_string()) return Error::make(ErrorCode::kSerialization, "tag Value must be a string");
      value = v->get<std::string>();
    }
    if (key.empty() || utf8Length(key) > 128)
      return invalidTag("Tag key '" + key + "' must be between 1 and 128 characters long.");
    if (utf8Length(value) > 256) return invalidTag("Tag value for key '" + key + "' must be at most 256 characters long.");
    if (!validChars(key) || !validChars(value))
      return invalidTag("Tag '" + key +
                        "' contains invalid characters. Tags may contain letters, numbers, spaces and + - = . _ : / @.");
    if (reservedPrefix(key)) return invalidTag("Tag keys that start with 'aws:' are reserved for AWS use.");
    bool replaced = false;
    for (auto& prev : out)
      if (prev["Key"] == key) {
        prev["Value"] = value;
        replaced = true;
      }
    if (!replaced) out.push_back({{"Key", key}, {"Value", value}});
  }
  if (out.size() > kMaxEcrTags) return tooMany();
  return out;
}

Result<json> mergeEcrTags(const json& existing, const json& added) {
  json out = existing.is_array() ? existing : json::array();
  for (const auto& t : added) {
    bool replaced = false;
    for (auto& e : out)
      if (e["Key"] == t["Key"]) {
        e["Value"] = t["Value"];
        replaced = true;
      }
    if (!replaced) out.push_back(t);
  }
  if (out.size() > kMaxEcrTags) return tooMany();
  return out;
}

json removeEcrTags(const json& existing, const json& keys) {
  json out = json::array();
  if (!existing.is_array()) return out;
  for (const auto& e : existing) {
    bool drop = false;
    for (const auto& k : keys)
      if (e["Key"] == k) drop = true;
    if (!drop) out.push_back(e);
  }
  return out;
}

}  // namespace berth::registry

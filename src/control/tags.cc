#include "control/tags.h"

#include <cctype>
#include <string>

namespace berth::control {
namespace {

// AWS's tag character set: letters, digits, whitespace and + - = . _ : / @.
bool validTagChars(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) continue;  // UTF-8 letters of other scripts are allowed
    if (std::isalnum(c) || std::isspace(c)) continue;
    if (std::string_view("+-=._:/@").find(static_cast<char>(c)) == std::string_view::npos) return false;
  }
  return true;
}

// Bug fix (controltests): AWS's limits are in Unicode characters, not bytes;
// counting bytes rejected e.g. a 100-character key written in Cyrillic.
std::size_t utf8Length(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;  // count every byte that is not a continuation byte
  return n;
}

Error invalid(std::string msg) { return Error::make(ErrorCode::kInvalidParameter, std::move(msg)); }

}  // namespace

Result<bool> includesTags(const nlohmann::json& request) {
  bool tags = false;
  auto include = request.is_object() ? request.find("include") : request.end();
  if (include == request.end() || !include->is_array()) return false;
  for (const auto& v : *include) {
    if (v != "TAGS") return invalid("Invalid include value. Valid values: TAGS.");
    tags = true;
  }
  return tags;
}

Result<nlohmann::json> validateTags(const nlohmann::json& tags) {
  if (tags.is_null()) return nlohmann::json::array();
  if (!tags.is_array()) return Error::make(ErrorCode::kSerialization, "tags must be a list");
  if (tags.size() > kMaxTagsPerResource)
    return invalid("The number of tags exceeds the limit of " + std::to_string(kMaxTagsPerResource) + ".");
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : tags) {
    if (!t.is_object()) return Error::make(ErrorCode::kSerialization, "each tag must be an object");
    auto k = t.find("key");
    if (k == t.end() || !k->is_string() || k->get<std::string>().empty())
      return invalid("Tag keys must be between 1 and 128 characters.");
    std::string key = k->get<std::string>();
    std::string value;
    if (auto v = t.find("value"); v != t.end() && !v->is_null()) {
      if (!v->is_string()) return Error::make(ErrorCode::kSerialization, "tag value must be a string");
      value = v->get<std::string>();
    }
    if (utf8Length(key) > 128) return invalid("Tag keys must be between 1 and 128 characters.");
    if (utf8Length(value) > 256) return invalid("Tag values must be no longer than 256 characters.");
    if (!validTagChars(key) || !validTagChars(value))
      return invalid("Tag '" + key + "' contains invalid characters. Tags may contain letters, numbers, spaces and + - = . _ : / @.");
    // Bug fix (controltests): AWS reserves "aws:" in any mix of case ("Aws:" too).
    if (key.size() >= 4 && std::tolower(static_cast<unsigned char>(key[0])) == 'a' &&
        std::tolower(static_cast<unsigned char>(key[1])) == 'w' &&
        std::tolower(static_cast<unsigned char>(key[2])) == 's' && key[3] == ':')
      return invalid("Tag keys that start with 'aws:' are reserved for AWS use.");
    for (const auto& prev : out)
      if (prev["key"] == key) return invalid("Duplicate tag key '" + key + "'.");
    out.push_back({{"key", key}, {"value", value}});
  }
  return out;
}

Result<nlohmann::json> mergeTags(const nlohmann::json& existing, const nlohmann::json& added) {
  nlohmann::json out = existing.is_array() ? existing : nlohmann::json::array();
  for (const auto& t : added) {
    bool replaced = false;
    for (auto& e : out) {
      if (e["key"] == t["key"]) {
        e["value"] = t["value"];
        replaced = true;
      }
    }
    if (!replaced) out.push_back(t);
  }
  if (out.size() > kMaxTagsPerResource)
    return invalid("The number of tags exceeds the limit of " + std::to_string(kMaxTagsPerResource) + ".");
  return out;
}

nlohmann::json removeTags(const nlohmann::json& existing, const nlohmann::json& keys) {
  nlohmann::json out = nlohmann::json::array();
  if (!existing.is_array()) return out;
  for (const auto& e : existing) {
    bool drop = false;
    for (const auto& k : keys)
      if (e["key"] == k) drop = true;
    if (!drop) out.push_back(e);
  }
  return out;
}

}  // namespace berth::control

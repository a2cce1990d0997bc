#pragma once
// Small accessors for request documents. Types were already checked against
// the API model by the protocol layer; these still never throw on a mismatch.
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace berth::control {

inline std::optional<std::string> optString(const nlohmann::json& j, const char* field) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(field);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

inline std::string stringOr(const nlohmann::json& j, const char* field, std::string fallback) {
  auto v = optString(j, field);
  return v ? *v : std::move(fallback);
}

inline const nlohmann::json* optField(const nlohmann::json& j, const char* field) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(field);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

inline nlohmann::json arrayOrEmpty(const nlohmann::json& j, const char* field) {
  auto* v = optField(j, field);
  return v && v->is_array() ? *v : nlohmann::json::array();
}

}  // namespace berth::control

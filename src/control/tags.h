#pragma once
// ECS resource tags: [{"key": ..., "value": ...}] with AWS's limits.
#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::control {

inline constexpr std::size_t kMaxTagsPerResource = 50;

// Validates a tags list from a request (null/absent = empty list).
Result<nlohmann::json> validateTags(const nlohmann::json& tags);
// Returns `existing` with `added` merged in (same key → new value), checking the 50-tag limit.
Result<nlohmann::json> mergeTags(const nlohmann::json& existing, const nlohmann::json& added);
// A Describe request's `include` list: whether it asks for TAGS (the only
// value ECS's Describe* operations accept there).
Result<bool> includesTags(const nlohmann::json& request);
// Returns `existing` without the listed keys.
nlohmann::json removeTags(const nlohmann::json& existing, const nlohmann::json& keys);

}  // namespace berth::control

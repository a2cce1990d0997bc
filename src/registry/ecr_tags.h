#pragma once
// ECR resource tags: [{"Key": ..., "Value": ...}] (capitalised members, unlike
// ECS) with AWS's limits. Errors: kInvalidTagParameter, kTooManyTags.
#include <nlohmann/json.hpp>

#include "common/result.h"

namespace berth::registry {

inline constexpr std::size_t kMaxEcrTags = 50;

// A request's tag list (null/absent = empty), checked.
Result<nlohmann::json> validateEcrTags(const nlohmann::json& tags);
// `existing` with `added` merged in (same Key → new Value), at most kMaxEcrTags.
Result<nlohmann::json> mergeEcrTags(const nlohmann::json& existing, const nlohmann::json& added);
// `existing` without the listed keys.
nlohmann::json removeEcrTags(const nlohmann::json& existing, const nlohmann::json& keys);

}  // namespace berth::registry

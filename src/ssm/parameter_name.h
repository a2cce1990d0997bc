#pragma once
// Parameter names, hierarchies, ARNs and selectors, with AWS's rules:
//  * characters a-zA-Z0-9_.- plus '/' between hierarchy levels; a name with a
//    '/' is fully qualified (starts with '/');
//  * at most 15 levels (HierarchyLevelLimitExceededException);
//  * not prefixed with "aws" or "ssm", case-insensitive (also "/aws/...", "/ssm/...");
//  * "x" and "/x" name the same parameter (canonicalName);
//  * ARN arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, with no double slash for
//    hierarchical names ("/a/b" → "parameter/a/b");
//  * "NAME:VERSION" and "NAME:LABEL" select a version (GetParameter(s)).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "control/ecs_context.h"

namespace berth::ssm {

inline constexpr int kMaxHierarchyLevels = 15;

// For names a caller creates (PutParameter). kInvalidParameter (ValidationException,
// AWS's messages) or kHierarchyLevelLimitExceeded.
Status validateNewParameterName(std::string_view name);

// Only the character set and shape, for names being looked up (no prefix rule).
bool isWellFormedParameterName(std::string_view name);

// The identity of a name: a single-level "/x" is "x".
std::string canonicalName(std::string_view name);

std::string parameterArn(const control::AccountInfo& account, std::string_view name);

// A reference as GetParameter(s) accept it: a name or this account's ARN,
// optionally followed by ":VERSION" or ":LABEL".
struct ParameterRef {
  std::string name;                    // as written (ARN resolved), without the selector
  std::optional<std::int64_t> version;  // ":3"
  std::string label;                   // ":prod"
  std::string selector;                // ":3" / ":prod" as written, "" without one
};
// nullopt for text that cannot name a parameter of this account (malformed,
// or an ARN of another service, region or account).
std::optional<ParameterRef> parseParameterRef(std::string_view text, const control::AccountInfo& account);

// GetParametersByPath / Path filters: "/a/b" or "/a/b/" → "/a/b/"; "/" stays "/".
// kInvalidParameter when the path is not "/"-rooted or has bad characters.
Result<std::string> normalizePath(std::string_view path);
// Whether `name` lies under `path` (normalized): directly, or at any depth when recursive.
bool isUnderPath(std::string_view name, std::string_view normalizedPath, bool recursive);

}  // namespace berth::ssm

#pragma once
// Parameter Store listings: GetParametersByPath (values) and
// DescribeParameters (metadata only, never values), with ParameterFilters,
// MaxResults and NextToken. Results are in name order; tokens are opaque
// (the last key returned, bound to the listing).
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "ssm/ssm_context.h"

namespace berth::ssm {

// Path "/a/b" (trailing slash optional; "/" = top level), Recursive,
// ParameterFilters with keys Type, KeyId, Label (others: InvalidFilterKey),
// WithDecryption, MaxResults 1..10 (default 10), NextToken.
Result<nlohmann::json> getParametersByPath(SsmContext& ctx, const nlohmann::json& request);

// Filters (legacy: Name = BeginsWith, Type, KeyId) or ParameterFilters
// (Name: Equals|BeginsWith|Contains; Path: Recursive|OneLevel; Type, KeyId,
// DataType, Tier, Label, tag:KEY: Equals), not both. MaxResults 1..50 (default 50).
Result<nlohmann::json> describeParameters(SsmContext& ctx, const nlohmann::json& request);

// One ParameterStringFilter, checked.
struct ParameterFilter {
  std::string key;     // "Name", "Type", "tag:Env", ...
  std::string option;  // defaulted: Equals, or OneLevel for Path
  std::vector<std::string> values;
};
// Whether a stored parameter document passes `filter`.
bool filterMatches(const ParameterFilter& filter, const nlohmann::json& doc);

}  // namespace berth::ssm

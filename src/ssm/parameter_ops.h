#pragma once
// Parameter Store operations on single parameters: PutParameter,
// GetParameter(s), DeleteParameter(s), GetParameterHistory. JSON ops take the
// request shaped as the botocore SSM model's <Op>Request (types and model
// constraints already checked by the protocol layer) and return <Op>Result.
// Errors: see ssm_errors.h. Values are never logged.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "ssm/ssm_context.h"

namespace berth::ssm {

Result<nlohmann::json> putParameter(SsmContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> getParameter(SsmContext& ctx, const nlohmann::json& request);
// Unknown names, unknown versions and names that cannot be parameters go to
// InvalidParameters (as written); no error.
Result<nlohmann::json> getParameters(SsmContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deleteParameter(SsmContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> deleteParameters(SsmContext& ctx, const nlohmann::json& request);
Result<nlohmann::json> getParameterHistory(SsmContext& ctx, const nlohmann::json& request);

// --- shared with the listing operations (parameter_queries.h) ---

// The API Parameter shape of one stored version: the value decrypted when
// withDecryption, else (SecureString) the sealed value. `selector` ("" = none).
Result<nlohmann::json> renderParameter(const SsmContext& ctx, const nlohmann::json& doc, const nlohmann::json& version,
                                       bool withDecryption, const std::string& selector = {});
// The ParameterMetadata shape (no value) of a stored parameter's latest version.
nlohmann::json renderMetadata(const nlohmann::json& doc);

}  // namespace berth::ssm

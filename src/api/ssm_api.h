#pragma once
// The SSM Parameter Store subset (AmazonSSM, JSON 1.1, signing name "ssm"):
// PutParameter, GetParameter, GetParameters, GetParametersByPath,
// GetParameterHistory, DeleteParameter, DeleteParameters, DescribeParameters.
// Model violations are ValidationException in Coral's wording (shape_checker).
#include "api/json_protocol_router.h"
#include "ssm/ssm_context.h"

namespace berth::api {

inline constexpr const char* kSsmTargetPrefix = "AmazonSSM";

// SSM's exception names for berth error codes (see src/ssm/ssm_errors.h).
AwsError ssmError(const Error& error);

// Every implemented operation bound to `ctx` (which must outlive the router).
JsonService makeSsmService(ssm::SsmContext& ctx);

}  // namespace berth::api

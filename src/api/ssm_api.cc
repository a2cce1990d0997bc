#include "api/ssm_api.h"

#include <algorithm>
#include <cstdlib>

#include "api/service_model.h"
#include "ssm/parameter_ops.h"
#include "ssm/parameter_queries.h"
#include "ssm/ssm_errors.h"

namespace berth::api {

AwsError ssmError(const Error& e) {
  auto as = [&](std::string type) { return AwsError{std::move(type), 400, e.message}; };
  switch (e.code) {
    case ErrorCode::kInvalidParameter: {
      const auto& named = ssm::kNamedInvalidInputs;
      if (std::find(named.begin(), named.end(), e.context) != named.end()) return as(e.context);
      return as("ValidationException");
    }
    case ErrorCode::kNotFound: return as("ParameterNotFound");
    case ErrorCode::kAlreadyExists: return as("ParameterAlreadyExists");
    case ErrorCode::kParameterVersionNotFound: return as("ParameterVersionNotFound");
    case ErrorCode::kParameterLimitExceeded: return as("ParameterLimitExceeded");
    case ErrorCode::kHierarchyLevelLimitExceeded: return as("HierarchyLevelLimitExceededException");
    case ErrorCode::kParameterPatternMismatch: return as("ParameterPatternMismatchException");
    case ErrorCode::kConflict: return as("TooManyUpdates");
    default: return {"InternalServerError", 500, e.message.empty() ? "An internal error occurred." : e.message};
  }
}

JsonService makeSsmService(ssm::SsmContext& ctx) {
  JsonService s;
  const ServiceModel* model = ServiceModel::byTargetPrefix(kSsmTargetPrefix);
  if (!model) std::abort();  // compiled in; missing = build defect
  bindServiceModel(s, *model);
  s.mapError = ssmError;
  auto bind = [&ctx](Result<nlohmann::json> (*fn)(ssm::SsmContext&, const nlohmann::json&)) {
    return [&ctx, fn](const nlohmann::json& req, const SigV4Identity&) { return fn(ctx, req); };
  };
  s.operations = {
      {"PutParameter", bind(ssm::putParameter)},
      {"GetParameter", bind(ssm::getParameter)},
      {"GetParameters", bind(ssm::getParameters)},
      {"GetParametersByPath", bind(ssm::getParametersByPath)},
      {"GetParameterHistory", bind(ssm::getParameterHistory)},
      {"DeleteParameter", bind(ssm::deleteParameter)},
      {"DeleteParameters", bind(ssm::deleteParameters)},
      {"DescribeParameters", bind(ssm::describeParameters)},
  };
  return s;
}

}  // namespace berth::api

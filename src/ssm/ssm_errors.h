#pragma once
// How Parameter Store operations report failures. The api layer maps codes to
// SSM's exception names (which mostly have no "Exception" suffix):
//   kNotFound                    ParameterNotFound
//   kAlreadyExists               ParameterAlreadyExists
//   kParameterVersionNotFound    ParameterVersionNotFound
//   kParameterLimitExceeded      ParameterLimitExceeded
//   kHierarchyLevelLimitExceeded HierarchyLevelLimitExceededException
//   kParameterPatternMismatch    ParameterPatternMismatchException
//   kInvalidParameter            ValidationException, or the exception named in
//                                the context when it is one of kNamedInvalidInputs
#include <array>
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth::ssm {

inline constexpr std::array<std::string_view, 6> kNamedInvalidInputs = {
    "InvalidFilterKey", "InvalidFilterOption", "InvalidFilterValue",
    "InvalidNextToken", "InvalidAllowedPatternException", "InvalidKeyId"};

inline Error validationError(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

// A kInvalidParameter that SSM reports under its own exception name.
inline Error namedInvalidInput(std::string_view exceptionName, std::string message) {
  return Error::make(ErrorCode::kInvalidParameter, std::move(message), std::string(exceptionName));
}

inline Error parameterNotFound(std::string_view name) {
  return Error::make(ErrorCode::kNotFound, "Parameter " + std::string(name) + " not found.", std::string(name));
}

}  // namespace berth::ssm

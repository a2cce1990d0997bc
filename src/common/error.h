#pragma once
// Error codes live in one registry (this enum) so every layer speaks the same
// vocabulary; the api layer maps each code to the AWS wire error it becomes.
#include <cstdint>
#include <string>
#include <string_view>

namespace berth {

// Never renumber: values may be persisted or logged.
enum class ErrorCode : std::uint16_t {
  kInternal = 0,          // a broken invariant or an unexpected failure (ServerException)
  kInvalidParameter = 1,  // a request field is malformed or out of range
  kClient = 2,            // the request is well formed but not allowed (ECS ClientException)
  kNotFound = 3,          // generic not-found (context decides the wire code)
  kClusterNotFound = 4,
  kConflict = 5,          // compare-on-revision failed; the caller may retry
  kClusterContainsServices = 6,
  kClusterContainsTasks = 7,
  kClusterContainsContainerInstances = 8,
  kResourceNotFound = 9,  // tagging on an unknown ARN
  kIo = 10,               // storage or filesystem failure
  kSerialization = 11,    // body is not valid JSON / wrong JSON types
  kUnknownOperation = 12,
  kAuthMissing = 13,      // no Authorization header
  kAuthUnrecognizedClient = 14,
  kAuthInvalidSignature = 15,
  kAuthIncompleteSignature = 16,
  kPayloadTooLarge = 17,
  kLimitExceeded = 18,
  kUnavailable = 19,      // shutting down / overloaded
};

std::string_view errorCodeName(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;  // written for an operator: what failed and what to do
  std::string context;  // optional: key, path or field the error is about

  static Error make(ErrorCode code, std::string message, std::string context = {}) {
    return Error{code, std::move(message), std::move(context)};
  }
};

}  // namespace berth

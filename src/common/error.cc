#include "common/error.h"

namespace berth {

std::string_view errorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInternal: return "Internal";
    case ErrorCode::kInvalidParameter: return "InvalidParameter";
    case ErrorCode::kClient: return "Client";
    case ErrorCode::kNotFound: return "NotFound";
    case ErrorCode::kClusterNotFound: return "ClusterNotFound";
    case ErrorCode::kConflict: return "Conflict";
    case ErrorCode::kClusterContainsServices: return "ClusterContainsServices";
    case ErrorCode::kClusterContainsTasks: return "ClusterContainsTasks";
    case ErrorCode::kClusterContainsContainerInstances: return "ClusterContainsContainerInstances";
    case ErrorCode::kResourceNotFound: return "ResourceNotFound";
    case ErrorCode::kIo: return "Io";
    case ErrorCode::kSerialization: return "Serialization";
    case ErrorCode::kUnknownOperation: return "UnknownOperation";
    case ErrorCode::kAuthMissing: return "AuthMissing";
    case ErrorCode::kAuthUnrecognizedClient: return "AuthUnrecognizedClient";
    case ErrorCode::kAuthInvalidSignature: return "AuthInvalidSignature";
    case ErrorCode::kAuthIncompleteSignature: return "AuthIncompleteSignature";
    case ErrorCode::kPayloadTooLarge: return "PayloadTooLarge";
    case ErrorCode::kLimitExceeded: return "LimitExceeded";
    case ErrorCode::kUnavailable: return "Unavailable";
  }
  return "Unknown";
}

}  // namespace berth

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
  // Registry (ECR API and OCI distribution). The api layer maps each to the ECR
  // exception name and to the OCI error code / HTTP status.
  kRepositoryNotFound = 20,        // NAME_UNKNOWN / RepositoryNotFoundException
  kRepositoryAlreadyExists = 21,
  kRepositoryNotEmpty = 22,
  kImageNotFound = 23,             // MANIFEST_UNKNOWN / ImageNotFoundException
  kImageAlreadyExists = 24,        // ECR PutImage of the same manifest+tag again
  kImageTagAlreadyExists = 25,     // IMMUTABLE repository: TAG_INVALID / ImageTagAlreadyExistsException
  kImageDigestDoesNotMatch = 26,
  kLayersNotFound = 27,            // MANIFEST_BLOB_UNKNOWN / LayersNotFoundException
  kReferencedImagesNotFound = 28,  // index child missing
  kManifestInvalid = 29,           // MANIFEST_INVALID / InvalidParameterException
  kBlobUnknown = 30,               // BLOB_UNKNOWN / LayersNotFoundException
  kUploadNotFound = 31,            // BLOB_UPLOAD_UNKNOWN / UploadNotFoundException
  kUploadInvalid = 32,             // BLOB_UPLOAD_INVALID / InvalidLayerPartException (out-of-order chunk)
  kDigestInvalid = 33,             // DIGEST_INVALID / InvalidLayerException (content does not match)
  kRangeNotSatisfiable = 34,       // 416 on chunk offsets / Range requests
  kEmptyUpload = 35,
  kLayerPartTooSmall = 36,
  kLayerAlreadyExists = 37,
  kLifecyclePolicyNotFound = 38,
  kLifecyclePolicyPreviewNotFound = 39,
  kLifecyclePolicyPreviewInProgress = 40,
  kRepositoryPolicyNotFound = 41,
  kTooManyTags = 42,
  kInvalidTagParameter = 43,
  kUnsupported = 44,               // UNSUPPORTED (OCI) / UnsupportedImageTypeException
  kDenied = 45,                    // DENIED: authenticated but not allowed
  kNameInvalid = 46,               // NAME_INVALID; ECR: InvalidParameterException
  kTagInvalid = 47,                // TAG_INVALID (bad tag syntax); ECR: InvalidParameterException
  kLayerInaccessible = 48,         // ECR LayerInaccessibleException: layer not associated with an image
  // Issue #5 (CloudWatch Logs, SSM Parameter Store, node runtime). Services map
  // these to their own exception names.
  kAlreadyExists = 49,               // Logs ResourceAlreadyExistsException / SSM ParameterAlreadyExists
  kInvalidSequenceToken = 50,        // Logs InvalidSequenceTokenException
  kDataAlreadyAccepted = 51,         // Logs DataAlreadyAcceptedException
  kParameterVersionNotFound = 52,    // SSM ParameterVersionNotFound
  kParameterLimitExceeded = 53,      // SSM ParameterLimitExceeded / ParameterMaxVersionLimitExceeded
  kHierarchyLevelLimitExceeded = 54, // SSM HierarchyLevelLimitExceededException
  kParameterPatternMismatch = 55,    // SSM ParameterPatternMismatchException
  kFailedPrecondition = 56,          // not in a state that allows this (e.g. exec in a stopped container)
  // Issue #6 (placement): ECS attributes.
  kTargetNotFound = 57,              // ECS TargetNotFoundException: Put/DeleteAttributes on an unknown instance
  kAttributeLimitExceeded = 58,      // ECS AttributeLimitExceededException: more than 10 custom attributes
  // Issue #7 (services).
  kServiceNotFound = 59,             // ECS ServiceNotFoundException
  kServiceNotActive = 60,            // ECS ServiceNotActiveException: UpdateService on a DRAINING/INACTIVE service
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

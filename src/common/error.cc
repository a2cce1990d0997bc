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
    case ErrorCode::kRepositoryNotFound: return "RepositoryNotFound";
    case ErrorCode::kRepositoryAlreadyExists: return "RepositoryAlreadyExists";
    case ErrorCode::kRepositoryNotEmpty: return "RepositoryNotEmpty";
    case ErrorCode::kImageNotFound: return "ImageNotFound";
    case ErrorCode::kImageAlreadyExists: return "ImageAlreadyExists";
    case ErrorCode::kImageTagAlreadyExists: return "ImageTagAlreadyExists";
    case ErrorCode::kImageDigestDoesNotMatch: return "ImageDigestDoesNotMatch";
    case ErrorCode::kLayersNotFound: return "LayersNotFound";
    case ErrorCode::kReferencedImagesNotFound: return "ReferencedImagesNotFound";
    case ErrorCode::kManifestInvalid: return "ManifestInvalid";
    case ErrorCode::kBlobUnknown: return "BlobUnknown";
    case ErrorCode::kUploadNotFound: return "UploadNotFound";
    case ErrorCode::kUploadInvalid: return "UploadInvalid";
    case ErrorCode::kDigestInvalid: return "DigestInvalid";
    case ErrorCode::kRangeNotSatisfiable: return "RangeNotSatisfiable";
    case ErrorCode::kEmptyUpload: return "EmptyUpload";
    case ErrorCode::kLayerPartTooSmall: return "LayerPartTooSmall";
    case ErrorCode::kLayerAlreadyExists: return "LayerAlreadyExists";
    case ErrorCode::kLifecyclePolicyNotFound: return "LifecyclePolicyNotFound";
    case ErrorCode::kLifecyclePolicyPreviewNotFound: return "LifecyclePolicyPreviewNotFound";
    case ErrorCode::kLifecyclePolicyPreviewInProgress: return "LifecyclePolicyPreviewInProgress";
    case ErrorCode::kRepositoryPolicyNotFound: return "RepositoryPolicyNotFound";
    case ErrorCode::kTooManyTags: return "TooManyTags";
    case ErrorCode::kInvalidTagParameter: return "InvalidTagParameter";
    case ErrorCode::kUnsupported: return "Unsupported";
    case ErrorCode::kDenied: return "Denied";
    case ErrorCode::kNameInvalid: return "NameInvalid";
    case ErrorCode::kTagInvalid: return "TagInvalid";
    case ErrorCode::kLayerInaccessible: return "LayerInaccessible";
    case ErrorCode::kAlreadyExists: return "AlreadyExists";
    case ErrorCode::kInvalidSequenceToken: return "InvalidSequenceToken";
    case ErrorCode::kDataAlreadyAccepted: return "DataAlreadyAccepted";
    case ErrorCode::kParameterVersionNotFound: return "ParameterVersionNotFound";
    case ErrorCode::kParameterLimitExceeded: return "ParameterLimitExceeded";
    case ErrorCode::kHierarchyLevelLimitExceeded: return "HierarchyLevelLimitExceeded";
    case ErrorCode::kParameterPatternMismatch: return "ParameterPatternMismatch";
    case ErrorCode::kFailedPrecondition: return "FailedPrecondition";
    case ErrorCode::kTargetNotFound: return "TargetNotFound";
    case ErrorCode::kAttributeLimitExceeded: return "AttributeLimitExceeded";
    case ErrorCode::kServiceNotFound: return "ServiceNotFound";
    case ErrorCode::kServiceNotActive: return "ServiceNotActive";
  }
  return "Unknown";
}

}  // namespace berth

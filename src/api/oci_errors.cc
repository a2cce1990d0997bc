#include "api/oci_errors.h"

#include <nlohmann/json.hpp>

namespace berth::api::distribution {

OciError mapError(ErrorCode code, ErrorSite site) {
  switch (code) {
    case ErrorCode::kRepositoryNotFound:
      return {404, "NAME_UNKNOWN"};
    case ErrorCode::kNameInvalid:
      return {400, "NAME_INVALID"};
    case ErrorCode::kImageNotFound:
      return {404, "MANIFEST_UNKNOWN"};
    case ErrorCode::kLayersNotFound:
    case ErrorCode::kReferencedImagesNotFound:
      return {400, "MANIFEST_BLOB_UNKNOWN"};
    case ErrorCode::kBlobUnknown:
      if (site == ErrorSite::kManifestPut) return {400, "MANIFEST_BLOB_UNKNOWN"};
      return {404, "BLOB_UNKNOWN"};
    case ErrorCode::kManifestInvalid:
      return {400, "MANIFEST_INVALID"};
    case ErrorCode::kImageTagAlreadyExists:
    case ErrorCode::kTagInvalid:
      return {400, "TAG_INVALID"};
    case ErrorCode::kDigestInvalid:
    case ErrorCode::kImageDigestDoesNotMatch:
      return {400, "DIGEST_INVALID"};
    case ErrorCode::kUploadNotFound:
      return {404, "BLOB_UPLOAD_UNKNOWN"};
    case ErrorCode::kUploadInvalid:
    case ErrorCode::kEmptyUpload:
    case ErrorCode::kLayerPartTooSmall:
      return {400, "BLOB_UPLOAD_INVALID"};
    case ErrorCode::kRangeNotSatisfiable:
      return {416, "BLOB_UPLOAD_INVALID"};
    case ErrorCode::kPayloadTooLarge:
      return {413, "SIZE_INVALID"};
    case ErrorCode::kUnsupported:
      // A manifest of a media type we do not store (schema 1) is 415 Unsupported Media Type.
      return {site == ErrorSite::kManifestPut ? 415 : 400, "UNSUPPORTED"};
    case ErrorCode::kDenied:
    case ErrorCode::kLimitExceeded:
    case ErrorCode::kTooManyTags:
      return {403, "DENIED"};
    case ErrorCode::kAuthMissing:
    case ErrorCode::kAuthUnrecognizedClient:
    case ErrorCode::kAuthInvalidSignature:
    case ErrorCode::kAuthIncompleteSignature:
      return {401, "UNAUTHORIZED"};
    case ErrorCode::kInvalidParameter:
    case ErrorCode::kSerialization:
      switch (site) {
        case ErrorSite::kManifest:
        case ErrorSite::kManifestPut:
          return {400, "MANIFEST_INVALID"};
        case ErrorSite::kUpload:
          return {400, "BLOB_UPLOAD_INVALID"};
        case ErrorSite::kBlob:
          return {400, "DIGEST_INVALID"};
        case ErrorSite::kGeneric:
          return {400, "UNSUPPORTED"};
      }
      return {400, "UNSUPPORTED"};
    case ErrorCode::kUnavailable:
      return {503, "UNAVAILABLE"};
    default:
      return {500, "UNKNOWN"};
  }
}

HttpResponse errorResponse(int status, std::string_view code, std::string_view message, std::string_view detail) {
  nlohmann::json entry = {{"code", std::string(code)}, {"message", std::string(message)}};
  if (!detail.empty()) entry["detail"] = std::string(detail);
  HttpResponse r;
  r.status = status;
  r.setHeader("Content-Type", "application/json");
  // Invalid UTF-8 in a message that echoes client input must not throw.
  r.body = nlohmann::json{{"errors", nlohmann::json::array({entry})}}.dump(-1, ' ', false,
                                                                            nlohmann::json::error_handler_t::replace);
  return r;
}

HttpResponse errorResponse(const Error& error, ErrorSite site) {
  auto mapped = mapError(error.code, site);
  return errorResponse(mapped.status, mapped.code, error.message, error.context);
}

}  // namespace berth::api::distribution

#pragma once
// OCI distribution error responses (distribution-spec v1.1 "Error Codes"):
// {"errors":[{"code","message","detail"}]} with Content-Type application/json,
// and the mapping from Berth's ErrorCodes (common/error.h) to code + status.
// This is the one place that decides which OCI code an internal error becomes.
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "common/error.h"

namespace berth::api::distribution {

// Where the error arose. A few internal codes mean different things on
// different routes (kInvalidParameter on a manifest PUT is MANIFEST_INVALID, a
// missing blob referenced by a manifest is MANIFEST_BLOB_UNKNOWN, not BLOB_UNKNOWN).
enum class ErrorSite { kGeneric, kManifest, kManifestPut, kBlob, kUpload };

struct OciError {
  int status = 500;
  std::string code;  // spec code, e.g. "MANIFEST_UNKNOWN"
};

OciError mapError(ErrorCode code, ErrorSite site);

// A JSON error response. `detail` is omitted when empty.
HttpResponse errorResponse(int status, std::string_view code, std::string_view message,
                           std::string_view detail = {});
HttpResponse errorResponse(const Error& error, ErrorSite site);

}  // namespace berth::api::distribution

#include "api/oci_errors.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace berth::api::distribution {
namespace {

TEST(OciErrors, MapsRegistryCodesToSpecCodes) {
  struct Case {
    ErrorCode code;
    ErrorSite site;
    int status;
    const char* oci;
  };
  const Case cases[] = {
      {ErrorCode::kRepositoryNotFound, ErrorSite::kGeneric, 404, "NAME_UNKNOWN"},
      {ErrorCode::kImageNotFound, ErrorSite::kManifest, 404, "MANIFEST_UNKNOWN"},
      {ErrorCode::kLayersNotFound, ErrorSite::kManifestPut, 400, "MANIFEST_BLOB_UNKNOWN"},
      {ErrorCode::kBlobUnknown, ErrorSite::kManifestPut, 400, "MANIFEST_BLOB_UNKNOWN"},
      {ErrorCode::kBlobUnknown, ErrorSite::kBlob, 404, "BLOB_UNKNOWN"},
      {ErrorCode::kManifestInvalid, ErrorSite::kManifestPut, 400, "MANIFEST_INVALID"},
      {ErrorCode::kInvalidParameter, ErrorSite::kManifestPut, 400, "MANIFEST_INVALID"},
      {ErrorCode::kImageTagAlreadyExists, ErrorSite::kManifestPut, 400, "TAG_INVALID"},
      {ErrorCode::kTagInvalid, ErrorSite::kManifest, 400, "TAG_INVALID"},
      {ErrorCode::kNameInvalid, ErrorSite::kGeneric, 400, "NAME_INVALID"},
      {ErrorCode::kDigestInvalid, ErrorSite::kUpload, 400, "DIGEST_INVALID"},
      {ErrorCode::kUploadNotFound, ErrorSite::kUpload, 404, "BLOB_UPLOAD_UNKNOWN"},
      {ErrorCode::kUploadInvalid, ErrorSite::kUpload, 400, "BLOB_UPLOAD_INVALID"},
      {ErrorCode::kRangeNotSatisfiable, ErrorSite::kUpload, 416, "BLOB_UPLOAD_INVALID"},
      {ErrorCode::kPayloadTooLarge, ErrorSite::kUpload, 413, "SIZE_INVALID"},
      {ErrorCode::kUnsupported, ErrorSite::kManifestPut, 415, "UNSUPPORTED"},
      {ErrorCode::kUnsupported, ErrorSite::kGeneric, 400, "UNSUPPORTED"},
      {ErrorCode::kDenied, ErrorSite::kGeneric, 403, "DENIED"},
      {ErrorCode::kAuthMissing, ErrorSite::kGeneric, 401, "UNAUTHORIZED"},
      {ErrorCode::kIo, ErrorSite::kUpload, 500, "UNKNOWN"},
  };
  for (const auto& c : cases) {
    auto m = mapError(c.code, c.site);
    EXPECT_EQ(m.status, c.status) << errorCodeName(c.code);
    EXPECT_EQ(m.code, c.oci) << errorCodeName(c.code);
  }
}

TEST(OciErrors, BodyShape) {
  auto r = errorResponse(Error::make(ErrorCode::kImageNotFound, "no such manifest", "latest"), ErrorSite::kManifest);
  EXPECT_EQ(r.status, 404);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], (std::pair<std::string, std::string>{"Content-Type", "application/json"}));
  auto doc = nlohmann::json::parse(r.body);
  ASSERT_EQ(doc["errors"].size(), 1u);
  EXPECT_EQ(doc["errors"][0]["code"], "MANIFEST_UNKNOWN");
  EXPECT_EQ(doc["errors"][0]["message"], "no such manifest");
  EXPECT_EQ(doc["errors"][0]["detail"], "latest");
}

TEST(OciErrors, InvalidUtf8InAMessageDoesNotThrow) {
  auto r = errorResponse(400, "NAME_INVALID", std::string("bad \xff name"));
  auto doc = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["errors"][0]["code"], "NAME_INVALID");
}

}  // namespace
}  // namespace berth::api::distribution

#pragma once
// The OCI Distribution Spec v1.1 endpoints under /v2/ on the server's port,
// backed by the ECR repositories (registry/) and the BlobStore.
//
// Every /v2/ request must carry `Authorization: Basic base64(AWS:<password>)`
// with a password from ECR GetAuthorizationToken (RegistryTokens). Without one
// the answer is 401 with `WWW-Authenticate: Basic realm="…"` and the
// UNAUTHORIZED error body, which is what makes `skopeo/podman/docker login`
// work. The base /v2/ answers 200 with `Docker-Distribution-API-Version: registry/2.0`.
//
// Pushing requires the repository to exist (ECR semantics: NAME_UNKNOWN
// otherwise); `autoCreateRepositories` creates it on the first push instead.
//
// Error bodies are {"errors":[{"code","message","detail"}]} with the spec's codes
// and statuses. Blob uploads (POST/PATCH/PUT under …/blobs/uploads/) are read as
// streams (see streamsBody), blob downloads are streamed from the BlobStore with
// single Range support (206 / 416).
#include <cstdint>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "api/registry_token.h"
#include "blobstore/blob_store.h"
#include "control/ecs_context.h"

namespace berth::api {

struct OciDistributionOptions {
  bool autoCreateRepositories = false;
  std::uint64_t maxBlobBytes = std::uint64_t(64) << 30;  // one upload may not exceed this (413 / SIZE_INVALID)
  std::size_t maxManifestBytes = 4 * 1024 * 1024;        // larger manifests: 413
  std::string realm = "berth";                           // WWW-Authenticate realm
};

class OciDistributionApi {
 public:
  OciDistributionApi(control::EcsContext& ctx, blobstore::BlobStore& blobs, const RegistryTokens& tokens,
                     OciDistributionOptions options = {});

  // "/v2" or "/v2/…"
  static bool handles(std::string_view path);
  // Requests whose bodies are streamed (blob upload POST/PATCH/PUT); for the
  // HttpServer's streamBody predicate.
  static bool streamsBody(std::string_view method, std::string_view target);

  HttpResponse handle(const HttpRequest& request) const;

  // Query parameter of pre-signed blob download URLs (GetDownloadUrlForLayer).
  static constexpr const char* kDownloadTokenParam = "X-Berth-Registry-Token";

 private:
  Result<RegistryPrincipal> authenticate(const HttpRequest& request) const;
  control::EcsContext& ctx_;
  blobstore::BlobStore& blobs_;
  const RegistryTokens& tokens_;
  OciDistributionOptions options_;
};

}  // namespace berth::api

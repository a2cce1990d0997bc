#pragma once
// Internal to OciDistributionApi: the per-route handlers and the helpers they
// share. Split by resource (oci_blob_handlers.cc, oci_manifest_handlers.cc,
// oci_distribution_api.cc for the rest) so each file stays one concept.
// Handlers run after authentication and routing; each returns a complete
// response (the caller adds Docker-Distribution-API-Version).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.h"
#include "api/oci_distribution_api.h"
#include "api/oci_routes.h"
#include "blobstore/blob_store.h"
#include "common/result.h"
#include "control/ecs_context.h"
#include "oci/digest.h"

namespace berth::api::distribution {

struct OciEnv {
  control::EcsContext& ctx;
  blobstore::BlobStore& blobs;
  const OciDistributionOptions& options;
};

// --- shared helpers ----------------------------------------------------------

// Reads a request body whether the server streamed it (bodyStream) or buffered it.
// A stream failure other than kPayloadTooLarge becomes kInvalidParameter.
class RequestBody {
 public:
  explicit RequestBody(const HttpRequest& request) : request_(request) {}
  Result<std::size_t> read(char* out, std::size_t max);
  // Content-Length when known (always, for a buffered body).
  std::optional<std::uint64_t> declaredLength() const;
  // False only when the body is known to be empty.
  bool mayHaveBytes() const;
  // The whole body, or kPayloadTooLarge once it exceeds maxBytes.
  Result<std::string> readAll(std::size_t maxBytes);

 private:
  const HttpRequest& request_;
  std::size_t offset_ = 0;  // into request_.body
};

// kNameInvalid unless `name` is a valid repository name.
Status checkRepositoryName(std::string_view name);
// kRepositoryNotFound when absent.
Status requireRepository(const OciEnv& env, std::string_view name);
// As requireRepository, but creates the repository when options.autoCreateRepositories.
Status ensureRepositoryForPush(const OciEnv& env, std::string_view name);
// Parses a digest from a path or query; kDigestInvalid with the value as context.
Result<oci::Digest> parseDigest(std::string_view text);
// A manifest reference: a digest (contains ':') or a tag. kDigestInvalid / kTagInvalid.
Status checkManifestReference(std::string_view reference);

std::string blobLocation(std::string_view name, std::string_view digest);
std::string uploadLocation(std::string_view name, std::string_view uploadId);
std::string manifestLocation(std::string_view name, std::string_view digest);

HttpResponse methodNotAllowed(std::string_view allow);

// One page of a sorted list for `?n=<int>&last=<item>` (tags list, catalog):
// the items after `last`, at most n (and at most kMaxPageEntries). nextLast is
// set when more follow, for the Link header. kInvalidParameter for a bad n.
inline constexpr std::size_t kMaxPageEntries = 1000;
struct Page {
  std::vector<std::string> items;
  std::optional<std::string> nextLast;
  std::size_t pageSize = 0;  // the n of the next page's link
};
Result<Page> paginate(const std::vector<std::string>& sorted, std::string_view query);

// --- handlers ------------------------------------------------------------------

HttpResponse handleBlob(const OciEnv& env, const Route& route, const HttpRequest& request);
HttpResponse handleUploadStart(const OciEnv& env, const Route& route, const HttpRequest& request);
HttpResponse handleUploadSession(const OciEnv& env, const Route& route, const HttpRequest& request);
HttpResponse handleManifest(const OciEnv& env, const Route& route, const HttpRequest& request);
HttpResponse handleTagsList(const OciEnv& env, const Route& route, const HttpRequest& request);
HttpResponse handleReferrers(const OciEnv& env, const Route& route, const HttpRequest& request);
HttpResponse handleCatalog(const OciEnv& env, const HttpRequest& request);

}  // namespace berth::api::distribution

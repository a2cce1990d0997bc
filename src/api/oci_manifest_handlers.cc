// Manifests (distribution-spec v1.1 end-3, end-7, end-9): stored byte-exact by
// registry::putManifest; this layer only reads the body within the size limit,
// passes the Content-Type on and maps the registry's errors to OCI codes.
#include "api/oci_errors.h"
#include "api/oci_handlers.h"
#include "common/log.h"
#include "registry/image_ops.h"

namespace berth::api::distribution {
namespace {

// "application/vnd.oci.image.manifest.v1+json; charset=utf-8" -> the media type
// (spec: registries SHOULD ignore Content-Type parameters).
std::string mediaTypeOf(const std::string* contentType) {
  if (!contentType) return {};
  std::string_view v(*contentType);
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  return std::string(v);
}

// Accept is honoured loosely: the stored manifest is always returned with its
// own media type, never 406, because every type we store is one clients know
// and converting (e.g. down to schema 1) is not supported.
HttpResponse getManifest(const OciEnv& env, const Route& route, bool head) {
  auto stored = registry::getManifest(env.ctx, route.name, route.reference);
  if (!stored.ok()) return errorResponse(stored.error(), ErrorSite::kManifest);
  HttpResponse r;
  r.setHeader("Content-Type", stored->mediaType.empty() ? "application/vnd.oci.image.manifest.v1+json"
                                                        : stored->mediaType);
  r.setHeader("Docker-Content-Digest", stored->digest);
  r.setHeader("Content-Length", std::to_string(stored->body.size()));
  r.setHeader("ETag", "\"" + stored->digest + "\"");
  if (!head) {
    r.body = std::move(stored->body);
    // Best effort: a failed bookkeeping write must not fail the pull.
    if (auto s = registry::recordImagePull(env.ctx, route.name, stored->digest); !s.ok())
      log::warn("recording an image pull failed", {{"repository", route.name}, {"error", s.error().message}});
  }
  return r;
}

HttpResponse putManifest(const OciEnv& env, const Route& route, const HttpRequest& request) {
  RequestBody body(request);
  auto bytes = body.readAll(env.options.maxManifestBytes);
  if (!bytes.ok()) {
    if (bytes.error().code == ErrorCode::kPayloadTooLarge)
      return errorResponse(413, "SIZE_INVALID",
                           "manifest larger than the registry's limit of " +
                               std::to_string(env.options.maxManifestBytes) + " bytes");
    return errorResponse(bytes.error(), ErrorSite::kManifestPut);
  }
  if (auto s = ensureRepositoryForPush(env, route.name); !s.ok())
    return errorResponse(s.error(), ErrorSite::kManifestPut);
  registry::PutManifestRequest put{
      .repository = route.name,
      .reference = route.reference,
      .contentType = mediaTypeOf(request.header("content-type")),
      .body = std::move(*bytes),
      .expectedDigest = std::nullopt,
      .ecrPutImage = false,
  };
  auto result = registry::putManifest(env.ctx, put);
  if (!result.ok()) return errorResponse(result.error(), ErrorSite::kManifestPut);
  HttpResponse r;
  r.status = 201;
  r.setHeader("Location", manifestLocation(route.name, result->digest));
  r.setHeader("Docker-Content-Digest", result->digest);
  if (result->subject) r.setHeader("OCI-Subject", *result->subject);
  return r;
}

}  // namespace

HttpResponse handleManifest(const OciEnv& env, const Route& route, const HttpRequest& request) {
  const auto& m = request.method;
  if (m != "GET" && m != "HEAD" && m != "PUT" && m != "DELETE") return methodNotAllowed("GET, HEAD, PUT, DELETE");
  if (auto s = checkManifestReference(route.reference); !s.ok()) return errorResponse(s.error(), ErrorSite::kManifest);
  if (m == "PUT") return putManifest(env, route, request);
  if (m == "DELETE") {
    auto s = registry::deleteManifest(env.ctx, route.name, route.reference);
    if (!s.ok()) return errorResponse(s.error(), ErrorSite::kManifest);
    HttpResponse r;
    r.status = 202;
    return r;
  }
  return getManifest(env, route, m == "HEAD");
}

}  // namespace berth::api::distribution

#include "api/oci_handlers.h"

#include <algorithm>
#include <cstring>

#include <nlohmann/json.hpp>

#include "api/oci_errors.h"
#include "registry/repository_ops.h"

namespace berth::api::distribution {

Result<std::size_t> RequestBody::read(char* out, std::size_t max) {
  if (request_.bodyStream) {
    auto n = request_.bodyStream->read(out, max);
    if (n.ok() || n.error().code == ErrorCode::kPayloadTooLarge) return n;
    // The client stopped sending (disconnect, timeout, short body): its fault,
    // not the registry's, so a 4xx rather than a 5xx.
    return Error::make(ErrorCode::kInvalidParameter, "request body could not be read: " + n.error().message);
  }
  std::size_t n = std::min(max, request_.body.size() - offset_);
  if (n) std::memcpy(out, request_.body.data() + offset_, n);
  offset_ += n;
  return n;
}

std::optional<std::uint64_t> RequestBody::declaredLength() const {
  if (request_.bodyStream) return request_.bodyStream->contentLength();
  return request_.body.size();
}

bool RequestBody::mayHaveBytes() const {
  auto len = declaredLength();
  return !len || *len > 0;
}

Result<std::string> RequestBody::readAll(std::size_t maxBytes) {
  if (auto len = declaredLength(); len && *len > maxBytes)
    return Error::make(ErrorCode::kPayloadTooLarge,
                       "body of " + std::to_string(*len) + " bytes exceeds the limit of " + std::to_string(maxBytes));
  std::string out;
  char buf[64 * 1024];
  while (true) {
    auto n = read(buf, sizeof buf);
    if (!n.ok()) return n.takeError();
    if (*n == 0) return out;
    if (out.size() + *n > maxBytes)
      return Error::make(ErrorCode::kPayloadTooLarge, "body exceeds the limit of " + std::to_string(maxBytes) + " bytes");
    out.append(buf, *n);
  }
}

Status checkRepositoryName(std::string_view name) {
  if (registry::isValidRepositoryName(name)) return okStatus();
  return Error::make(ErrorCode::kNameInvalid,
                     "invalid repository name: use 2-256 lowercase characters, path components of [a-z0-9] "
                     "separated by '.', '_', '__' or '-', joined by '/'",
                     std::string(name));
}

Status requireRepository(const OciEnv& env, std::string_view name) {
  auto repo = registry::findRepository(env.ctx, name);
  if (!repo.ok()) return repo.takeError();
  return okStatus();
}

Status ensureRepositoryForPush(const OciEnv& env, std::string_view name) {
  auto repo = registry::findRepository(env.ctx, name);
  if (repo.ok()) return okStatus();
  if (repo.error().code != ErrorCode::kRepositoryNotFound || !env.options.autoCreateRepositories)
    return repo.takeError();
  auto created = registry::createRepository(env.ctx, nlohmann::json{{"repositoryName", std::string(name)}});
  // A concurrent first push may have created it a moment ago: that is success too.
  if (!created.ok() && created.error().code != ErrorCode::kRepositoryAlreadyExists) return created.takeError();
  return okStatus();
}

Result<oci::Digest> parseDigest(std::string_view text) {
  auto d = oci::Digest::parse(text);
  if (d.ok()) return d;
  return Error::make(ErrorCode::kDigestInvalid,
                     "invalid digest: expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>",
                     std::string(text));
}

Status checkManifestReference(std::string_view reference) {
  if (reference.find(':') != std::string_view::npos) {
    auto d = parseDigest(reference);
    if (!d.ok()) return d.takeError();
    return okStatus();
  }
  if (registry::isValidTag(reference)) return okStatus();
  return Error::make(ErrorCode::kTagInvalid, "invalid tag: expected [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}",
                     std::string(reference));
}

std::string blobLocation(std::string_view name, std::string_view digest) {
  return "/v2/" + std::string(name) + "/blobs/" + std::string(digest);
}
std::string uploadLocation(std::string_view name, std::string_view uploadId) {
  return "/v2/" + std::string(name) + "/blobs/uploads/" + std::string(uploadId);
}
std::string manifestLocation(std::string_view name, std::string_view digest) {
  return "/v2/" + std::string(name) + "/manifests/" + std::string(digest);
}

HttpResponse methodNotAllowed(std::string_view allow) {
  auto r = errorResponse(405, "UNSUPPORTED", "method not allowed here; allowed: " + std::string(allow));
  r.setHeader("Allow", std::string(allow));
  return r;
}

}  // namespace berth::api::distribution

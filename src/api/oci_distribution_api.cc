#include "api/oci_distribution_api.h"

#include "api/oci_errors.h"
#include "api/oci_handlers.h"
#include "api/oci_routes.h"
#include "common/log.h"

namespace berth::api {
namespace {

using distribution::Route;
using distribution::RouteKind;

HttpResponse unauthorized(const Error& error, const std::string& realm) {
  auto r = distribution::errorResponse(401, "UNAUTHORIZED", error.message);
  // Clients (docker/podman/skopeo login) only send credentials after this challenge.
  r.setHeader("WWW-Authenticate", "Basic realm=\"" + realm + "\"");
  return r;
}

HttpResponse base(const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") return distribution::methodNotAllowed("GET, HEAD");
  HttpResponse r;
  r.setHeader("Content-Type", "application/json");
  r.body = "{}";
  return r;
}

}  // namespace

OciDistributionApi::OciDistributionApi(control::EcsContext& ctx, blobstore::BlobStore& blobs,
                                       const RegistryTokens& tokens, OciDistributionOptions options)
    : ctx_(ctx), blobs_(blobs), tokens_(tokens), options_(std::move(options)) {}

bool OciDistributionApi::handles(std::string_view path) {
  return path == "/v2" || path.substr(0, 4) == "/v2/";
}

bool OciDistributionApi::streamsBody(std::string_view method, std::string_view target) {
  auto route = distribution::parseRoute(target.substr(0, target.find('?')));
  if (!route) return false;
  switch (route->kind) {
    case RouteKind::kUploadStart:
      return method == "POST";
    case RouteKind::kUploadSession:
      return method == "PATCH" || method == "PUT";
    case RouteKind::kManifest:
      // Manifests are read through the stream too, so the manifest limit (not the
      // server's generic body limit) decides and an oversized one gets 413 SIZE_INVALID.
      return method == "PUT";
    default:
      return false;
  }
}

// A pre-signed blob download (ECR GetDownloadUrlForLayer): the URL carries a
// registry password in this query parameter. Accepted only for blob GET/HEAD,
// so a leaked download URL reads blobs and nothing else.
Result<RegistryPrincipal> OciDistributionApi::authenticate(const HttpRequest& request) const {
  auto now = ctx_.clock.now();
  if (!request.header("authorization") && (request.method == "GET" || request.method == "HEAD")) {
    constexpr std::string_view kParam = std::string_view(kDownloadTokenParam);
    auto query = request.query();
    for (std::size_t pos = 0; pos < query.size();) {
      auto amp = query.find('&', pos);
      auto pair = query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
      if (pair.size() > kParam.size() && pair.substr(0, kParam.size()) == kParam && pair[kParam.size()] == '=') {
        auto route = distribution::parseRoute(request.path());
        if (route && route->kind == RouteKind::kBlob) return tokens_.verifyPassword(pair.substr(kParam.size() + 1), now);
      }
      if (amp == std::string_view::npos) break;
      pos = amp + 1;
    }
  }
  return tokens_.verify(request, now);
}

HttpResponse OciDistributionApi::handle(const HttpRequest& request) const {
  HttpResponse response;
  if (auto principal = authenticate(request); !principal.ok()) {
    response = unauthorized(principal.error(), options_.realm);
  } else if (auto route = distribution::parseRoute(request.path()); !route) {
    response = distribution::errorResponse(404, "NAME_UNKNOWN", "no OCI distribution endpoint at this path",
                                           std::string(request.path()));
  } else if (route->kind == RouteKind::kBase) {
    response = base(request);
  } else {
    distribution::OciEnv env{ctx_, blobs_, options_};
    if (route->kind == RouteKind::kCatalog) {
      response = distribution::handleCatalog(env, request);
    } else if (auto name = distribution::checkRepositoryName(route->name); !name.ok()) {
      response = distribution::errorResponse(name.error(), distribution::ErrorSite::kGeneric);
    } else {
      switch (route->kind) {
        case RouteKind::kTagsList: response = distribution::handleTagsList(env, *route, request); break;
        case RouteKind::kManifest: response = distribution::handleManifest(env, *route, request); break;
        case RouteKind::kBlob: response = distribution::handleBlob(env, *route, request); break;
        case RouteKind::kUploadStart: response = distribution::handleUploadStart(env, *route, request); break;
        case RouteKind::kUploadSession: response = distribution::handleUploadSession(env, *route, request); break;
        case RouteKind::kReferrers: response = distribution::handleReferrers(env, *route, request); break;
        case RouteKind::kBase:
        case RouteKind::kCatalog: break;  // handled above
      }
    }
  }
  if (response.status >= 500) {
    log::error("oci request failed", {{"method", request.method},
                                      {"path", std::string(request.path())},
                                      {"status", response.status},
                                      {"body", response.body}});
  }
  response.setHeader("Docker-Distribution-API-Version", "registry/2.0");
  return response;
}

}  // namespace berth::api

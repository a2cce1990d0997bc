#pragma once
// Routing of OCI distribution paths (distribution-spec v1.1 "Endpoints").
// Repository names may contain '/', so a path is read from the right: the
// route is decided by the trailing segments ("…/tags/list", "…/manifests/<ref>",
// "…/blobs/uploads/<id>", "…/blobs/<digest>", "…/referrers/<digest>") and
// everything before them is the name. Pure: no I/O, no validation of the name,
// reference or digest syntax (the handlers do that, to answer with the right
// error code).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::api::distribution {

enum class RouteKind {
  kBase,           // /v2/
  kCatalog,        // /v2/_catalog
  kTagsList,       // /v2/<name>/tags/list
  kManifest,       // /v2/<name>/manifests/<reference>
  kBlob,           // /v2/<name>/blobs/<digest>
  kUploadStart,    // /v2/<name>/blobs/uploads/
  kUploadSession,  // /v2/<name>/blobs/uploads/<id>
  kReferrers,      // /v2/<name>/referrers/<digest>
};

struct Route {
  RouteKind kind = RouteKind::kBase;
  std::string name;       // repository name (percent-decoded)
  std::string reference;  // tag/digest, digest or upload id (percent-decoded)
};

// nullopt when the path is not under /v2 or matches no route.
std::optional<Route> parseRoute(std::string_view path);

// Decodes %XX escapes; '+' stays '+' (RFC 3986: it is not a space in paths or
// in these queries, and media types such as "…+json" contain it). Malformed
// escapes are kept verbatim.
std::string percentDecode(std::string_view s);
// Encodes everything outside RFC 3986 unreserved characters (for Link headers).
std::string percentEncode(std::string_view s);

// "a=1&b=x%2Fy" -> {{"a","1"},{"b","x/y"}} in order; a key without '=' has an empty value.
std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query);
// First value of `key`, or nullopt.
std::optional<std::string> queryParam(std::string_view query, std::string_view key);

}  // namespace berth::api::distribution

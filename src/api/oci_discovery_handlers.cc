// Content discovery (distribution-spec v1.1 end-8a/b tags, end-12a/b referrers)
// and the registry catalog (/v2/_catalog, from the Docker registry API).
#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "api/oci_errors.h"
#include "api/oci_handlers.h"
#include "oci/media_types.h"
#include "registry/image_ops.h"

namespace berth::api::distribution {

Result<Page> paginate(const std::vector<std::string>& sorted, std::string_view query) {
  std::optional<std::size_t> n;
  if (auto text = queryParam(query, "n")) {
    std::size_t v = 0;
    auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (text->empty() || ec != std::errc() || p != text->data() + text->size())
      return Error::make(ErrorCode::kInvalidParameter, "n must be a non-negative integer", *text);
    n = v;
  }
  auto last = queryParam(query, "last");
  auto begin = sorted.begin();
  if (last) begin = std::upper_bound(sorted.begin(), sorted.end(), *last);
  std::size_t available = static_cast<std::size_t>(sorted.end() - begin);
  Page page;
  // n=0 answers an empty list without a Link (spec); n above the cap gets a
  // full page and a Link, which the spec allows in place of exactly n entries.
  std::size_t take = std::min({available, n.value_or(available), kMaxPageEntries});
  page.items.assign(begin, begin + static_cast<std::ptrdiff_t>(take));
  if (take < available && take > 0) {
    page.nextLast = page.items.back();
    page.pageSize = n ? std::min(*n, kMaxPageEntries) : kMaxPageEntries;
  }
  return page;
}

namespace {

HttpResponse invalidPagination(const Error& error) {
  return errorResponse(400, "PAGINATION_NUMBER_INVALID", error.message, error.context);
}

std::string linkHeader(const std::string& path, const Page& page) {
  return "<" + path + "?n=" + std::to_string(page.pageSize) + "&last=" + percentEncode(*page.nextLast) +
         ">; rel=\"next\"";
}

HttpResponse jsonResponse(const nlohmann::json& doc, std::string contentType = "application/json") {
  HttpResponse r;
  r.setHeader("Content-Type", std::move(contentType));
  r.body = doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace

HttpResponse handleTagsList(const OciEnv& env, const Route& route, const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") return methodNotAllowed("GET, HEAD");
  auto tags = registry::listTags(env.ctx, route.name);
  if (!tags.ok()) return errorResponse(tags.error(), ErrorSite::kGeneric);
  auto page = paginate(*tags, request.query());
  if (!page.ok()) return invalidPagination(page.error());
  auto r = jsonResponse({{"name", route.name}, {"tags", page->items}});
  if (page->nextLast) r.setHeader("Link", linkHeader("/v2/" + route.name + "/tags/list", *page));
  return r;
}

HttpResponse handleCatalog(const OciEnv& env, const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") return methodNotAllowed("GET, HEAD");
  auto names = registry::listRepositoryNames(env.ctx);
  auto page = paginate(names, request.query());
  if (!page.ok()) return invalidPagination(page.error());
  auto r = jsonResponse({{"repositories", page->items}});
  if (page->nextLast) r.setHeader("Link", linkHeader("/v2/_catalog", *page));
  return r;
}

HttpResponse handleReferrers(const OciEnv& env, const Route& route, const HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") return methodNotAllowed("GET, HEAD");
  auto digest = parseDigest(route.reference);
  if (!digest.ok()) return errorResponse(digest.error(), ErrorSite::kBlob);
  std::string artifactType = queryParam(request.query(), "artifactType").value_or("");
  auto index = registry::referrers(env.ctx, route.name, digest->str(), artifactType);
  if (!index.ok()) return errorResponse(index.error(), ErrorSite::kGeneric);
  auto r = jsonResponse(*index, std::string(oci::kOciIndex));
  if (!artifactType.empty()) r.setHeader("OCI-Filters-Applied", "artifactType");
  return r;
}

}  // namespace berth::api::distribution

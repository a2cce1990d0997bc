#include "api/oci_routes.h"

namespace berth::api::distribution {
namespace {

std::vector<std::string_view> splitSegments(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto slash = s.find('/', start);
    if (slash == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, slash - start));
    start = slash + 1;
  }
}

// The name is the first `count` segments joined by '/'; every one must be non-empty
// (so "/v2//x/tags/list" or a leading slash never yields a name).
std::optional<std::string> joinName(const std::vector<std::string_view>& segs, std::size_t count) {
  if (count == 0) return std::nullopt;
  std::string name;
  for (std::size_t i = 0; i < count; ++i) {
    if (segs[i].empty()) return std::nullopt;
    if (i) name += '/';
    name += percentDecode(segs[i]);
  }
  return name;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string percentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hexValue(s[i + 1]), lo = hexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start <= query.size()) {
    auto amp = query.find('&', start);
    auto piece = query.substr(start, amp == std::string_view::npos ? std::string_view::npos : amp - start);
    if (!piece.empty()) {
      auto eq = piece.find('=');
      if (eq == std::string_view::npos)
        out.emplace_back(percentDecode(piece), std::string());
      else
        out.emplace_back(percentDecode(piece.substr(0, eq)), percentDecode(piece.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    start = amp + 1;
  }
  return out;
}

std::optional<std::string> queryParam(std::string_view query, std::string_view key) {
  for (auto& [k, v] : parseQuery(query))
    if (k == key) return v;
  return std::nullopt;
}

std::optional<Route> parseRoute(std::string_view path) {
  if (path == "/v2" || path == "/v2/") return Route{RouteKind::kBase, {}, {}};
  if (path.substr(0, 4) != "/v2/") return std::nullopt;
  auto rest = path.substr(4);
  if (rest == "_catalog" || rest == "_catalog/") return Route{RouteKind::kCatalog, {}, {}};

  auto segs = splitSegments(rest);
  const std::size_t n = segs.size();
  auto at = [&](std::size_t fromEnd) -> std::string_view { return fromEnd <= n ? segs[n - fromEnd] : std::string_view(); };
  auto make = [&](RouteKind kind, std::size_t nameSegments, std::string_view ref) -> std::optional<Route> {
    auto name = joinName(segs, nameSegments);
    if (!name) return std::nullopt;
    return Route{kind, std::move(*name), percentDecode(ref)};
  };

  if (n >= 3 && at(2) == "tags" && at(1) == "list") return make(RouteKind::kTagsList, n - 2, {});
  // "…/blobs/uploads/" (trailing slash: last segment empty) or "…/blobs/uploads".
  if (n >= 4 && at(3) == "blobs" && at(2) == "uploads" && at(1).empty()) return make(RouteKind::kUploadStart, n - 3, {});
  if (n >= 3 && at(2) == "blobs" && at(1) == "uploads") return make(RouteKind::kUploadStart, n - 2, {});
  if (n >= 4 && at(3) == "blobs" && at(2) == "uploads") return make(RouteKind::kUploadSession, n - 3, at(1));
  if (n >= 3 && !at(1).empty()) {
    if (at(2) == "manifests") return make(RouteKind::kManifest, n - 2, at(1));
    if (at(2) == "blobs") return make(RouteKind::kBlob, n - 2, at(1));
    if (at(2) == "referrers") return make(RouteKind::kReferrers, n - 2, at(1));
  }
  return std::nullopt;
}

}  // namespace berth::api::distribution

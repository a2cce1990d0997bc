#include "control/pagination.h"

#include "common/base64.h"

namespace berth::control {
namespace {

std::optional<std::string> unbase64url(const std::string& in) {
  if (in.size() > 4096) return std::nullopt;  // tokens are short; don't decode junk of any size
  return base64UrlDecode(in);
}

Error invalidToken() {
  return Error::make(ErrorCode::kInvalidParameter, "Invalid nextToken: it was not returned by a previous call of this listing.");
}

}  // namespace

Result<PageRequest> pageRequestFrom(const nlohmann::json& request, std::int64_t defaultMax, std::int64_t maxAllowed) {
  PageRequest p{"", defaultMax};
  if (auto it = request.find("nextToken"); it != request.end() && !it->is_null()) {
    if (!it->is_string()) return Error::make(ErrorCode::kSerialization, "nextToken must be a string");
    p.nextToken = it->get<std::string>();
  }
  if (auto it = request.find("maxResults"); it != request.end() && !it->is_null()) {
    if (!it->is_number_integer()) return Error::make(ErrorCode::kSerialization, "maxResults must be an integer");
    auto v = it->get<std::int64_t>();
    if (v < 1 || v > maxAllowed)
      return Error::make(ErrorCode::kInvalidParameter,
                         "maxResults must be between 1 and " + std::to_string(maxAllowed) + ".");
    p.maxResults = v;
  }
  return p;
}

std::string encodePageToken(const std::string& scope, const std::string& lastKey) {
  nlohmann::json t = {{"s", scope}, {"k", lastKey}};
  return base64UrlEncode(t.dump());
}

Result<std::string> decodePageToken(const std::string& scope, const std::string& token) {
  auto raw = unbase64url(token);
  if (!raw) return invalidToken();
  auto t = nlohmann::json::parse(*raw, nullptr, false);
  if (t.is_discarded() || !t.is_object() || !t.contains("s") || !t.contains("k") || !t["s"].is_string() ||
      !t["k"].is_string() || t["s"].get<std::string>() != scope)
    return invalidToken();
  return t["k"].get<std::string>();
}

Result<Page> paginate(const StateCache& cache, const std::string& prefix, const std::string& scope,
                      const PageRequest& page,
                      const std::function<std::optional<nlohmann::json>(const std::string&, const CachedObject&)>& select) {
  std::string after;
  if (!page.nextToken.empty()) {
    auto k = decodePageToken(scope, page.nextToken);
    if (!k.ok()) return k.takeError();
    after = *k;
    if (after.compare(0, prefix.size(), prefix) != 0) return invalidToken();
  }
  Page out;
  std::string lastKey;
  bool more = false;
  cache.scan(prefix, after, [&](const std::string& key, const CachedObject& obj) {
    auto v = select(key, obj);
    if (!v) return true;
    if (static_cast<std::int64_t>(out.items.size()) == page.maxResults) {
      more = true;
      return false;
    }
    out.items.push_back(std::move(*v));
    lastKey = key;
    return true;
  });
  if (more) out.nextToken = encodePageToken(scope, lastKey);
  return out;
}

Result<Page> paginateVector(std::vector<nlohmann::json> items, const std::string& scope, const PageRequest& page,
                            const std::function<std::string(const nlohmann::json&)>& keyOf) {
  std::size_t start = 0;
  if (!page.nextToken.empty()) {
    auto k = decodePageToken(scope, page.nextToken);
    if (!k.ok()) return k.takeError();
    start = items.size();
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (keyOf(items[i]) == *k) {
        start = i + 1;
        break;
      }
    }
  }
  Page out;
  std::size_t end = std::min(items.size(), start + static_cast<std::size_t>(page.maxResults));
  for (std::size_t i = start; i < end; ++i) out.items.push_back(std::move(items[i]));
  if (end < items.size() && end > start) out.nextToken = encodePageToken(scope, keyOf(out.items.back()));
  return out;
}

}  // namespace berth::control

#include "control/pagination.h"

#include <openssl/evp.h>

namespace berth::control {
namespace {

std::string base64url(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<std::size_t>(n));
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::optional<std::string> unbase64url(std::string in) {
  if (in.size() > 4096) return std::nullopt;
  for (auto& c : in) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (!std::isalnum(static_cast<unsigned char>(c))) return std::nullopt;
  }
  while (in.size() % 4) in.push_back('=');
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  for (auto it = in.rbegin(); it != in.rend() && *it == '='; ++it) ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
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
  return base64url(t.dump());
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

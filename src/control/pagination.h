#pragma once
// nextToken/maxResults pagination over the cache's key order. Tokens are
// opaque to clients: base64url of the last key returned, bound to the list's
// key prefix so a token from one listing can't be replayed against another.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/result.h"
#include "control/state_cache.h"

namespace berth::control {

struct PageRequest {
  std::string nextToken;    // empty = first page
  std::int64_t maxResults;  // already defaulted by the caller
};

// Reads nextToken and maxResults from an ECS List* request (maxResults 1..100,
// default `defaultMax`). Wrong values → InvalidParameterException.
Result<PageRequest> pageRequestFrom(const nlohmann::json& request, std::int64_t defaultMax = 100,
                                    std::int64_t maxAllowed = 100);

std::string encodePageToken(const std::string& scope, const std::string& lastKey);
Result<std::string> decodePageToken(const std::string& scope, const std::string& token);

struct Page {
  std::vector<nlohmann::json> items;
  std::optional<std::string> nextToken;
};

// Walks keys under `prefix` (after the token's key), keeping objects for which
// `select` returns a value, until maxResults are collected. `scope` names the listing.
Result<Page> paginate(const StateCache& cache, const std::string& prefix, const std::string& scope,
                      const PageRequest& page,
                      const std::function<std::optional<nlohmann::json>(const std::string&, const CachedObject&)>& select);

// Pagination over an in-memory list already in its final order.
Result<Page> paginateVector(std::vector<nlohmann::json> items, const std::string& scope, const PageRequest& page,
                            const std::function<std::string(const nlohmann::json&)>& keyOf);

}  // namespace berth::control

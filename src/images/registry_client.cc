#include "images/registry_client.h"

#include <nlohmann/json.hpp>

#include "images/www_authenticate.h"
#include "oci/media_types.h"

namespace berth::images {

namespace {

bool sameOrigin(const Url& a, const Url& b) { return a.scheme == b.scheme && a.host == b.host && a.port == b.port; }

std::string defaultScope(const std::string& repository) {
  return repository.empty() ? std::string() : "repository:" + repository + ":pull";
}

ErrorCode codeForStatus(int status) {
  if (status == 404) return ErrorCode::kNotFound;
  if (status == 401 || status == 403) return ErrorCode::kClient;
  if (status == 429 || status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kIo;
}

}  // namespace

RegistryClient::RegistryClient(Url baseUrl, RegistryClientOptions options, const Clock& clock)
    : base_(std::move(baseUrl)), options_(std::move(options)), clock_(clock), http_(options_.http) {
  base_.target = "/";
}

Error RegistryClient::httpError(const std::string& what, const HttpResponse& resp) const {
  std::string detail;
  auto j = nlohmann::json::parse(resp.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("errors") && j["errors"].is_array()) {
    for (const auto& e : j["errors"]) {
      if (!e.is_object()) continue;
      if (!detail.empty()) detail += "; ";
      detail += e.value("code", "") + ": " + e.value("message", "");
    }
  }
  if (detail.empty() && !resp.body.empty() && resp.body.size() < 200) detail = resp.body;
  std::string msg = what + ": " + base_.hostPort() + " returned HTTP " + std::to_string(resp.status);
  if (!detail.empty()) msg += " (" + detail + ")";
  return Error::make(codeForStatus(resp.status), msg, base_.str());
}

std::optional<std::string> RegistryClient::authorizationFor(const std::string& repository) {
  std::lock_guard<std::mutex> lock(mu_);
  switch (mode_) {
    case AuthMode::kNone:
      return std::nullopt;
    case AuthMode::kBasic:
      if (!options_.credentials) return std::nullopt;
      return "Basic " + base64Encode(options_.credentials->username + ":" + options_.credentials->password);
    case AuthMode::kBearer: {
      auto it = tokens_.find(realm_ + "\n" + service_ + "\n" + defaultScope(repository));
      if (it == tokens_.end() || clock_.monotonicNow() >= it->second.expires) return std::nullopt;
      return "Bearer " + it->second.value;
    }
  }
  return std::nullopt;
}

Result<RegistryClient::Token> RegistryClient::fetchToken(const std::string& realm, const std::string& service,
                                                         const std::string& scope) {
  std::string url = realm;
  std::string query;
  if (!service.empty()) query += "service=" + urlEncode(service);
  if (!scope.empty()) query += std::string(query.empty() ? "" : "&") + "scope=" + urlEncode(scope);
  if (!query.empty()) url += (realm.find('?') == std::string::npos ? "?" : "&") + query;
  auto parsed = Url::parse(url);
  if (!parsed.ok()) {
    return Error::make(ErrorCode::kInvalidParameter, "registry sent an unusable token realm '" + realm + "'", realm);
  }
  HttpRequest req;
  req.url = *parsed;
  req.maxBodyBytes = 1 << 20;
  if (options_.credentials && !options_.credentials->username.empty()) {
    req.headers.emplace_back("Authorization", "Basic " + base64Encode(options_.credentials->username + ":" +
                                                                      options_.credentials->password));
  }
  auto resp = http_.send(req);
  if (!resp.ok()) return resp.takeError();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++tokenFetches_;
  }
  if (resp->status != 200) {
    Error e = httpError("token request to " + parsed->hostPort() + " failed", *resp);
    if (resp->status == 401 || resp->status == 403) {
      e.message = "registry token service refused the credentials (HTTP " + std::to_string(resp->status) + ")";
    }
    return e;
  }
  auto j = nlohmann::json::parse(resp->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Error::make(ErrorCode::kSerialization, "token service returned a non-JSON body", parsed->str());
  }
  std::string token;
  if (j.contains("token") && j["token"].is_string()) token = j["token"].get<std::string>();
  if (token.empty() && j.contains("access_token") && j["access_token"].is_string()) {
    token = j["access_token"].get<std::string>();
  }
  if (token.empty()) return Error::make(ErrorCode::kSerialization, "token service returned no token", parsed->str());
  // The spec's minimum lifetime is 60 s when expires_in is absent.
  std::int64_t ttl = 60;
  if (j.contains("expires_in") && j["expires_in"].is_number_integer()) ttl = std::max<std::int64_t>(j["expires_in"].get<std::int64_t>(), 1);
  // Renew a little early so a token does not expire in flight.
  auto margin = std::min<std::int64_t>(10, ttl / 2);
  return Token{token, clock_.monotonicNow() + std::chrono::seconds(ttl - margin)};
}

Status RegistryClient::handleChallenge(const HttpResponse& resp, const std::string& repository) {
  std::vector<AuthChallenge> challenges;
  for (const auto& [k, v] : resp.headers) {
    if (k == "www-authenticate") {
      auto parsed = parseWwwAuthenticate(v);
      challenges.insert(challenges.end(), parsed.begin(), parsed.end());
    }
  }
  for (const auto& ch : challenges) {
    if (ch.scheme != "bearer") continue;
    std::string realm = ch.param("realm");
    if (realm.empty()) continue;
    std::string service = ch.param("service");
    std::string scope = ch.param("scope");
    if (scope.empty()) scope = defaultScope(repository);
    auto token = fetchToken(realm, service, scope);
    if (!token.ok()) return token.takeError();
    std::lock_guard<std::mutex> lock(mu_);
    mode_ = AuthMode::kBearer;
    realm_ = realm;
    service_ = service;
    tokens_[realm + "\n" + service + "\n" + defaultScope(repository)] = std::move(*token);
    return okStatus();
  }
  for (const auto& ch : challenges) {
    if (ch.scheme != "basic") continue;
    if (!options_.credentials || options_.credentials->username.empty()) {
      return Error::make(ErrorCode::kClient,
                         "registry " + base_.hostPort() + " requires authentication and no credentials were given",
                         base_.str());
    }
    std::lock_guard<std::mutex> lock(mu_);
    mode_ = AuthMode::kBasic;
    return okStatus();
  }
  return Error::make(ErrorCode::kClient,
                     "registry " + base_.hostPort() + " answered 401 without a supported challenge (Bearer or Basic)",
                     base_.str());
}

Result<HttpResponse> RegistryClient::call(const CallOptions& c) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto auth = authorizationFor(c.repository);
    Url url = base_;
    url.target = c.path;
    HttpResponse resp;
    for (int hop = 0;; ++hop) {
      HttpRequest req;
      req.method = c.method;
      req.url = url;
      req.maxBodyBytes = c.maxBodyBytes;
      if (!c.accept.empty()) req.headers.emplace_back("Accept", c.accept);
      // Credentials go only to the registry itself, never to a redirect target
      // elsewhere (pre-signed object-storage URLs carry their own).
      if (auth && sameOrigin(url, base_)) req.headers.emplace_back("Authorization", *auth);
      auto r = http_.send(req, c.sink);
      if (!r.ok()) return r.takeError();
      resp = std::move(*r);
      bool redirect = resp.status == 301 || resp.status == 302 || resp.status == 303 || resp.status == 307 ||
                      resp.status == 308;
      if (!redirect) break;
      std::string location = resp.header("location");
      if (location.empty()) return httpError("redirect without Location", resp);
      if (hop >= options_.maxRedirects) {
        return Error::make(ErrorCode::kIo, "too many redirects fetching " + c.path + " from " + base_.hostPort());
      }
      auto next = url.resolve(location);
      if (!next.ok()) return next.takeError();
      url = *next;
    }
    if (resp.status == 401 && attempt == 0) {
      BERTH_TRY(handleChallenge(resp, c.repository));
      continue;
    }
    if (resp.status == 401) {
      return Error::make(ErrorCode::kClient,
                         "registry " + base_.hostPort() + " refused the credentials for " +
                             (c.repository.empty() ? std::string("/v2/") : c.repository) + " (HTTP 401)",
                         base_.str());
    }
    return resp;
  }
  return Error::make(ErrorCode::kInternal, "unreachable");
}

Status RegistryClient::ping() {
  CallOptions c;
  c.path = "/v2/";
  auto r = call(c);
  if (!r.ok()) return r.takeError();
  if (r->status != 200) return httpError("registry ping failed", *r);
  return okStatus();
}

Result<FetchedManifest> RegistryClient::getManifest(const std::string& repository, const std::string& reference) {
  CallOptions c;
  c.path = "/v2/" + repository + "/manifests/" + reference;
  c.accept = std::string(oci::kManifestAccept);
  c.repository = repository;
  c.maxBodyBytes = options_.maxManifestBytes;
  auto r = call(c);
  if (!r.ok()) {
    Error e = r.takeError();
    if (e.code == ErrorCode::kPayloadTooLarge) e.message = "manifest " + reference + " is over the 4 MiB limit";
    return e;
  }
  if (r->status != 200) return httpError("manifest " + repository + ":" + reference + " not available", *r);
  FetchedManifest m;
  m.body = std::move(r->body);
  m.contentType = r->header("content-type");
  if (reference.find(':') != std::string::npos) {
    auto want = oci::Digest::parse(reference);
    if (!want.ok()) return want.takeError();
    m.digest = oci::digestOf(m.body, want->algorithm());
    if (m.digest != *want) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "manifest digest mismatch: requested " + want->str() + ", content hashes to " + m.digest.str(),
                         want->str());
    }
    return m;
  }
  m.digest = oci::digestOf(m.body);
  if (std::string header = r->header("docker-content-digest"); !header.empty()) {
    auto claimed = oci::Digest::parse(header);
    if (claimed.ok() && oci::digestOf(m.body, claimed->algorithm()) != *claimed) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "manifest for tag " + reference + " does not match the registry's Docker-Content-Digest " +
                             claimed->str(),
                         claimed->str());
    }
  }
  return m;
}

Status RegistryClient::getBlob(const std::string& repository, const oci::Digest& digest, const BodySink& sink) {
  CallOptions c;
  c.path = "/v2/" + repository + "/blobs/" + digest.str();
  c.repository = repository;
  c.sink = &sink;
  auto r = call(c);
  if (!r.ok()) return r.takeError();
  if (r->status != 200) return httpError("blob " + digest.str() + " not available", *r);
  return okStatus();
}

}  // namespace berth::images

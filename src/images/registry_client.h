#pragma once
// Client for the OCI distribution API (distribution-spec v1.1 "pull" category)
// against one registry endpoint: ping, manifests by tag or digest, blobs
// (following redirects, which may point at another host such as object storage).
//
// Auth (Docker's token flow, distribution/docs/spec/auth/token.md): a request
// answered 401 with `WWW-Authenticate: Bearer realm=..,service=..,scope=..` makes
// the client fetch a token from the realm (sending Basic credentials when it has
// them) and retry once; tokens are cached per (realm, service, scope) until they
// expire. `WWW-Authenticate: Basic` makes it retry with Basic credentials.
// Credentials are never sent to a redirect target on another host.
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/result.h"
#include "images/http_client.h"
#include "images/image_store.h"
#include "oci/digest.h"

namespace berth::images {

struct RegistryClientOptions {
  HttpClientOptions http;
  std::optional<RegistryCredentials> credentials;
  int maxRedirects = 5;
  std::size_t maxManifestBytes = 4 * 1024 * 1024;
};

struct FetchedManifest {
  std::string body;
  std::string contentType;  // as the registry sent it
  oci::Digest digest;       // of `body`; verified against the requested digest
};

class RegistryClient {
 public:
  // `baseUrl`: scheme://host[:port] of the registry (no path).
  // `clock` (not owned) times token expiry.
  RegistryClient(Url baseUrl, RegistryClientOptions options, const Clock& clock);

  // GET /v2/ — succeeds when the registry answers 200 (after auth if needed).
  Status ping();

  // GET /v2/<repo>/manifests/<reference> with an Accept header listing every
  // supported manifest and index type. When `reference` is a digest, the body
  // must hash to it; with a tag, a Docker-Content-Digest header must agree.
  Result<FetchedManifest> getManifest(const std::string& repository, const std::string& reference);

  // GET /v2/<repo>/blobs/<digest>, streaming the body to `sink`. The caller
  // verifies the digest (ContentStore's BlobWriter does while writing).
  Status getBlob(const std::string& repository, const oci::Digest& digest, const BodySink& sink);

  const Url& baseUrl() const { return base_; }
  int tokenFetchesForTest() const { return tokenFetches_; }

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  struct CallOptions {
    std::string method = "GET";
    std::string path;
    std::string accept;
    std::string repository;  // for the default token scope
    const BodySink* sink = nullptr;
    std::size_t maxBodyBytes = 1 << 20;
  };

  Result<HttpResponse> call(const CallOptions& call);
  std::optional<std::string> authorizationFor(const std::string& repository);
  Status handleChallenge(const HttpResponse& resp, const std::string& repository);
  Result<Token> fetchToken(const std::string& realm, const std::string& service, const std::string& scope);
  Error httpError(const std::string& what, const HttpResponse& resp) const;

  Url base_;
  RegistryClientOptions options_;
  const Clock& clock_;
  HttpClient http_;

  std::mutex mu_;
  enum class AuthMode { kNone, kBasic, kBearer } mode_ = AuthMode::kNone;
  std::string realm_, service_;
  std::map<std::string, Token> tokens_;  // key: realm \n service \n scope
  int tokenFetches_ = 0;
};

}  // namespace berth::images

#pragma once
// A small synchronous HTTP/1.1 client for talking to registries (Boost.Beast
// underneath, hidden here). http:// and https:// (OpenSSL, peer and host name
// verified unless disabled). Every network step is bounded by a timeout, and
// response bodies are either buffered under a size cap or streamed to a sink,
// so a 200 MB layer never sits in memory.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/base64.h"  // base64Encode for Basic auth
#include "common/result.h"

namespace berth::images {

struct Url {
  std::string scheme;  // "http" | "https"
  std::string host;    // no brackets for IPv6
  std::string port;    // always set ("80"/"443" by default)
  std::string target;  // path + query, starts with '/'

  static Result<Url> parse(std::string_view text);
  // Resolves a Location header (absolute, scheme-relative, or path) against this URL.
  Result<Url> resolve(std::string_view location) const;
  std::string hostPort() const;  // "host:port", "[v6]:port"
  std::string str() const;
};

// Percent-encodes a query component (RFC 3986 unreserved characters kept).
std::string urlEncode(std::string_view s);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";
  Url url;
  Headers headers;
  std::string body;
  // Cap on a buffered (non-streamed) response body; larger → kPayloadTooLarge.
  std::size_t maxBodyBytes = 4 * 1024 * 1024;
};

struct HttpResponse {
  int status = 0;
  Headers headers;   // names lowercased, in arrival order
  std::string body;  // empty when the body went to a sink
  // First header with this (lowercase) name, or "".
  std::string header(std::string_view lowerName) const;
};

// Receives body bytes in order; an error aborts the transfer.
using BodySink = std::function<Status(std::string_view chunk)>;

struct HttpClientOptions {
  std::chrono::milliseconds connectTimeout{10'000};  // DNS + TCP connect + TLS handshake
  std::chrono::milliseconds ioTimeout{60'000};       // each read/write must progress within this
  bool verifyTls = true;
  std::string caFile;  // extra CA bundle (PEM); empty = system store only
  std::string userAgent = "berth-agent";
};

class HttpClient {
 public:
  explicit HttpClient(HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request on a fresh connection. When `sink` is given and the status
  // is 2xx, the body is streamed to it; otherwise the body is buffered (capped).
  // Transport failures are kIo (kUnavailable for timeouts); HTTP error statuses
  // are not errors here.
  Result<HttpResponse> send(const HttpRequest& request, const BodySink* sink = nullptr);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::images

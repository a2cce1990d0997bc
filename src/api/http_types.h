#pragma once
// Transport-neutral HTTP request/response used between the HTTP server and the
// protocol handlers (JSON 1.1, later Query and OCI). Header names are lowercased.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace berth::api {

// A request body the handler reads as it arrives, for routes that accept bodies
// far larger than memory (OCI blob uploads). Only requests the server's
// `streamBody` predicate selects carry one; their HttpRequest::body is empty.
// Used from the worker thread that runs the handler, never concurrently.
class BodyReader {
 public:
  virtual ~BodyReader() = default;
  // Reads up to `max` bytes into `out`; 0 means the body is complete. Blocks
  // until at least one byte, the end, or an error (client gone, no progress
  // within the server's bodyTimeout, body over the stream limit: kPayloadTooLarge).
  virtual Result<std::size_t> read(char* out, std::size_t max) = 0;
  // Content-Length when the client sent one (absent for chunked bodies).
  virtual std::optional<std::uint64_t> contentLength() const = 0;
};

// A response body produced piece by piece (blob downloads), so a 1 GiB layer
// is never held in memory. The server calls read() from a worker thread until
// `length` bytes have been produced; an error or a short source closes the
// connection (the status line has already gone out).
class BodySource {
 public:
  virtual ~BodySource() = default;
  virtual std::uint64_t length() const = 0;
  // Fills up to `max` bytes; returning 0 before `length` bytes is an error.
  virtual Result<std::size_t> read(char* out, std::size_t max) = 0;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // raw request-target: path plus optional "?query", as received
  HeaderList headers;         // lowercased names, values as received, in arrival order
  std::string body;
  std::string remoteAddress;  // "ip:port" of the peer
  // Set instead of `body` for streamed requests (see BodyReader); not owned, valid
  // while the handler runs. A handler that leaves body bytes unread gets its
  // response sent with Connection: close.
  BodyReader* bodyStream = nullptr;

  // First header with this (lowercase) name, or nullptr.
  const std::string* header(std::string_view lowerName) const {
    for (const auto& [k, v] : headers)
      if (k == lowerName) return &v;
    return nullptr;
  }
  std::string_view path() const {
    auto q = target.find('?');
    return std::string_view(target).substr(0, q);
  }
  std::string_view query() const {
    auto q = target.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
  }
};

struct HttpResponse {
  int status = 200;
  HeaderList headers;  // Content-Length is set by the server
  std::string body;
  // When set, the body comes from here instead of `body`, and Content-Length is
  // stream->length(). Ignored for HEAD (headers only) and bodyless statuses.
  std::shared_ptr<BodySource> stream;

  void setHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

// Handlers may block (e.g. waiting for a durable write); the server runs them on
// worker threads, never on the I/O threads.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

}  // namespace berth::api

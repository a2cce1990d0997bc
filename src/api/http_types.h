#pragma once
// Transport-neutral HTTP request/response used between the HTTP server and the
// protocol handlers (JSON 1.1, later Query and OCI). Header names are lowercased.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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

// A response body of unknown length that is produced as events happen
// (Server-Sent Events): the server sends it with chunked transfer encoding,
// each non-empty piece as it comes, until the source ends, the client goes
// away or the server shuts down. The server pulls from a worker thread; the
// number of open streams is bounded (HttpServerOptions::maxEventStreams).
class EventStreamSource {
 public:
  virtual ~EventStreamSource() = default;
  // The next piece of the body. Blocks for at most about a second: returns ""
  // when nothing happened meanwhile (the server calls again), nullopt when
  // the stream has ended.
  virtual std::optional<std::string> next() = 0;
  // The client went away or the server is shutting down: a next() in progress
  // or later returns nullopt promptly. Called from any thread, maybe twice.
  virtual void cancel() = 0;
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

class DeferredResponse;

struct HttpResponse {
  int status = 200;
  HeaderList headers;  // Content-Length is set by the server
  std::string body;
  // When set, the body comes from here instead of `body`, and Content-Length is
  // stream->length(). Ignored for HEAD (headers only) and bodyless statuses.
  std::shared_ptr<BodySource> stream;
  // When set, the handler has not answered yet: everything else in this
  // response is ignored and the server writes whatever `deferred` is completed
  // with, whenever that happens (see DeferredResponse). The worker thread is
  // free meanwhile.
  std::shared_ptr<DeferredResponse> deferred;
  // When set (and not HEAD), the body is this stream, sent chunked with
  // Content-Type text/event-stream and Cache-Control no-cache unless the
  // handler set them; the connection closes when it ends.
  std::shared_ptr<EventStreamSource> eventStream;

  void setHeader(std::string name, std::string value) { headers.emplace_back(std::move(name), std::move(value)); }
};

// A response completed later, from any thread, so a long poll parks without
// holding a worker thread. The handler creates one, keeps a copy, and returns
// an HttpResponse whose `deferred` points to it; the server writes the
// response on the connection's strand once complete() is called.
//
// complete() wins once; later calls do nothing. Completing after the client
// went away or after the server shut down is harmless (nothing is written).
// Thread-safe.
class DeferredResponse {
 public:
  // Owner side. Returns whether this call completed it (false: already done).
  bool complete(HttpResponse response) {
    std::lock_guard lock(mu_);
    if (done_) return false;
    done_ = true;
    if (!sink_) {
      early_ = std::move(response);  // the server has not bound yet: delivered by bind()
      return true;
    }
    // Under the lock so that unbind() returning means no delivery is in progress.
    sink_(std::move(response));
    sink_ = nullptr;
    return true;
  }
  bool completed() const {
    std::lock_guard lock(mu_);
    return done_;
  }
  // Optional: called once, from the server's shutdown, if the response is still
  // pending then; the owner should complete() it promptly (with whatever answer
  // fits: e.g. a long poll answers "no change"). Without a hook the server
  // answers 503 itself. Set it before the handler returns.
  void onServerShutdown(std::function<void()> hook) {
    std::lock_guard lock(mu_);
    shutdownHook_ = std::move(hook);
  }

  // Server side. `sink` receives the response (at once if already complete);
  // it must be quick (it hands the response to the connection's strand).
  void bind(std::function<void(HttpResponse&&)> sink) {
    std::lock_guard lock(mu_);
    if (done_ && early_) {
      sink(std::move(*early_));
      early_.reset();
      return;
    }
    if (!done_) sink_ = std::move(sink);
  }
  // After this returns, a completion goes nowhere.
  void unbind() {
    std::lock_guard lock(mu_);
    sink_ = nullptr;
    early_.reset();
  }
  // Runs the owner's shutdown hook (outside the lock: it calls complete()).
  // False when there is none or the response is already complete.
  bool notifyServerShutdown() {
    std::function<void()> hook;
    {
      std::lock_guard lock(mu_);
      if (done_ || !shutdownHook_) return false;
      hook = std::move(shutdownHook_);
      shutdownHook_ = nullptr;
    }
    hook();
    return true;
  }

 private:
  mutable std::mutex mu_;
  bool done_ = false;
  std::optional<HttpResponse> early_;
  std::function<void(HttpResponse&&)> sink_;
  std::function<void()> shutdownHook_;
};

// Handlers may block (e.g. waiting for a durable write); the server runs them on
// worker threads, never on the I/O threads.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

}  // namespace berth::api

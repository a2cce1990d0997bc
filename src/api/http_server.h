#pragma once
// HttpServer: the HTTP/1.1 server every Berth protocol (JSON 1.1, Query, OCI,
// agent channel) sits on. Boost.Beast/Asio underneath, hidden behind a pimpl so
// users of this header don't pay for Beast's compile time.
//
// Threading model: `ioThreads` threads run all socket I/O (one strand per
// connection); complete requests are handed to a pool of `workerThreads` that
// run the HttpHandler, because handlers may block on durable writes. A slow or
// dead client therefore only ever holds an I/O strand, never a worker.
//
// A handler may also answer later: it returns an HttpResponse whose
// `deferred` is set and completes that DeferredResponse from any thread (long
// polls). Meanwhile the worker serves other requests and the connection
// waits; the response is written on its strand once completed.
//
// Per connection, requests are processed one at a time: the next request is not
// parsed until the previous response is written. Pipelined requests are thus
// answered in order (their bytes simply wait in the read buffer).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_types.h"
#include "common/clock.h"
#include "common/result.h"

namespace berth::api {

struct HttpServerOptions {
  std::string host = "127.0.0.1";      // literal IP or resolvable name
  std::uint16_t port = 0;              // 0 = pick a free port (tests)
  std::size_t maxBodyBytes = 1 << 20;  // larger bodies get 413 (Content-Length checked before reading the body)
  // Requests this predicate selects (by method and raw target, decided once the
  // header is in) are handed to the handler at once with a BodyReader instead of
  // a buffered body. Their limit is maxStreamBodyBytes and bodyTimeout bounds
  // each read's progress rather than the whole body. Empty = never stream.
  std::function<bool(std::string_view method, std::string_view target)> streamBody;
  std::uint64_t maxStreamBodyBytes = std::uint64_t(64) << 30;
  std::size_t maxHeaderBytes = 16 * 1024;   // request line + headers; larger → 431
  std::chrono::seconds headerTimeout{30};   // the whole header must arrive within this (slowloris) → 408 + close
  std::chrono::seconds bodyTimeout{60};     // the whole body must arrive within this → 408 + close;
                                            // also bounds writing one response to a client that doesn't read
  std::chrono::seconds idleTimeout{60};     // keep-alive connection idle between requests → close
  int ioThreads = 2;
  int workerThreads = 32;                   // handlers run here, never on the I/O threads
  std::size_t maxConnections = 10000;       // beyond: accept, answer 503, close
  // Event streams (HttpResponse::eventStream) each hold a worker thread while
  // open; beyond this many the handler's answer is replaced by a 503. Must
  // be below workerThreads so that streams cannot starve ordinary requests.
  std::size_t maxEventStreams = 8;
  // Builds the response for protocol-level failures the server detects itself
  // (400 malformed HTTP, 408 timeout, 413 body too large, 431 headers too large,
  // 500 handler threw, 503 shutting down / too many connections). The AWS layer
  // installs one that produces AWS-shaped JSON errors. Default (empty): plain text.
  // Called on I/O threads (and on a worker for 500): keep it cheap and non-blocking.
  std::function<HttpResponse(int status, std::string_view message)> errorResponse;
  // Wall clock for the Date header and monotonic clock for request durations in
  // logs. Not owned; must outlive the server. nullptr = the system clock.
  const Clock* clock = nullptr;
};

// The handler is called concurrently from several worker threads.
class HttpServer {
 public:
  // Binds, listens and starts the I/O and worker threads. Fails with kInvalidParameter
  // for a bad host or option and kIo when the address cannot be bound.
  static Result<std::unique_ptr<HttpServer>> start(HttpServerOptions options, HttpHandler handler);

  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;
  ~HttpServer();  // calls shutdown()

  std::uint16_t port() const;    // the bound port
  std::string address() const;   // "host:port" ("[v6]:port" for IPv6)

  // Graceful shutdown: stop accepting (the listening socket is closed before
  // anything else, so new connects are refused), close idle keep-alive
  // connections, let requests whose header already arrived run their handler and
  // have the response written (with Connection: close), within `grace`. Requests
  // whose header completes after shutdown began get 503. Parked (deferred)
  // requests are answered at the start: by their owner if it set
  // DeferredResponse::onServerShutdown, else with 503. After `grace` the
  // remaining connections are closed forcibly. Then all threads are joined (a
  // handler that never returns would block here: handlers must terminate).
  // Idempotent and thread-safe.
  void shutdown(std::chrono::seconds grace = std::chrono::seconds(20));

  // Connections currently open (excluding ones being turned away with 503).
  std::size_t activeConnections() const;

 private:
  class Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::api

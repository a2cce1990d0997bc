#include "api/http_server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "common/log.h"

namespace berth::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// After the server decides to close a connection it half-closes and keeps
// reading (discarding) for at most this long, so that unread request bytes in
// the kernel buffer don't turn close() into a RST that destroys the response
// we just sent (the classic 413-then-reset problem).
constexpr std::chrono::seconds kLingerTimeout{2};
// Size of one read while waiting for the next request on a keep-alive
// connection; a typical API request fits in one read.
constexpr std::size_t kIdleReadBytes = 8 * 1024;
constexpr std::string_view k100Continue = "HTTP/1.1 100 Continue\r\n\r\n";
// Read buffer capacity while a request body is streamed (Beast reads at most 64 KiB at a time).
constexpr std::size_t kStreamReadBytes = 128 * 1024;

HttpResponse defaultErrorResponse(int status, std::string_view message) {
  HttpResponse r;
  r.status = status;
  r.setHeader("Content-Type", "text/plain; charset=utf-8");
  r.body.reserve(message.size() + 1);
  r.body.append(message);
  r.body.push_back('\n');
  return r;
}

// IMF-fixdate (RFC 7231 section 7.1.1.1), formatted by hand because strftime's
// %a/%b follow the locale. Cached per thread: it changes once a second.
const std::string& httpDate(std::chrono::system_clock::time_point now) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local std::time_t cachedSecond = -1;
  thread_local std::string cached;
  std::time_t secs = std::chrono::system_clock::to_time_t(now);
  if (secs != cachedSecond) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[tm.tm_wday % 7], tm.tm_mday,
                  kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    cached = buf;
    cachedSecond = secs;
  }
  return cached;
}

std::string endpointString(const tcp::endpoint& ep) {
  auto addr = ep.address();
  if (addr.is_v6()) return "[" + addr.to_string() + "]:" + std::to_string(ep.port());
  return addr.to_string() + ":" + std::to_string(ep.port());
}

bool isBeastHttpError(const beast::error_code& ec) {
  return &ec.category() == &http::make_error_code(http::error::bad_method).category();
}

class Session;

// State shared by the server and its sessions. Sessions hold it by shared_ptr
// because the last of them may be destroyed while the io_context is torn down.
struct ServerCore {
  HttpServerOptions options;
  HttpHandler handler;
  SystemClock systemClock;
  const Clock* clock = nullptr;
  asio::thread_pool* workers = nullptr;  // owned by HttpServer::Impl, outlives all handler posts

  std::atomic<bool> stopping{false};
  // Set once the I/O threads are joined: workers waiting for a strand step
  // (streamed bodies) give up instead of waiting for handlers that never run.
  std::atomic<bool> ioStopped{false};
  std::atomic<std::size_t> active{0};
  std::mutex mu;  // guards sessions; active changes under it so shutdown can wait on cv
  std::condition_variable cv;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions;
  // Deferred responses not yet written (long polls), so shutdown can have them
  // answered and then detach them from connections that are going away.
  std::mutex parkedMu;
  std::unordered_map<DeferredResponse*, std::weak_ptr<DeferredResponse>> parked;

  // Open event streams (HttpResponse::eventStream), so shutdown can end them.
  std::mutex streamsMu;
  std::unordered_map<EventStreamSource*, std::weak_ptr<EventStreamSource>> streams;

  std::size_t eventStreamLimit() const {
    // Each stream holds a worker: always leave one for ordinary requests.
    return std::min(options.maxEventStreams, static_cast<std::size_t>(std::max(0, options.workerThreads - 1)));
  }
  // Registers an open stream; false when over the bound or shutting down.
  bool openStream(const std::shared_ptr<EventStreamSource>& source) {
    std::lock_guard lk(streamsMu);
    if (stopping.load() || streams.size() >= eventStreamLimit()) return false;
    streams.emplace(source.get(), source);
    return true;
  }
  void closeStream(EventStreamSource* source) {
    std::lock_guard lk(streamsMu);
    streams.erase(source);
  }
  void cancelStreams() {
    std::vector<std::shared_ptr<EventStreamSource>> open;
    {
      std::lock_guard lk(streamsMu);
      for (auto& [_, weak] : streams)
        if (auto s = weak.lock()) open.push_back(std::move(s));
    }
    for (auto& s : open) s->cancel();
  }

  std::vector<std::shared_ptr<DeferredResponse>> snapshotParked() {
    std::vector<std::shared_ptr<DeferredResponse>> out;
    std::lock_guard lk(parkedMu);
    out.reserve(parked.size());
    for (auto& [_, weak] : parked)
      if (auto d = weak.lock()) out.push_back(std::move(d));
    return out;
  }

  HttpResponse errorResponse(int status, std::string_view message) const {
    if (options.errorResponse) {
      try {
        HttpResponse r = options.errorResponse(status, message);
        r.status = status;
        return r;
      } catch (const std::exception& e) {
        log::warn("http errorResponse hook threw", {{"status", status}, {"error", e.what()}});
      } catch (...) {
        log::warn("http errorResponse hook threw", {{"status", status}, {"error", "non-standard exception"}});
      }
    }
    return defaultErrorResponse(status, message);
  }

  std::vector<std::shared_ptr<Session>> snapshotSessions() {
    std::vector<std::shared_ptr<Session>> out;
    std::lock_guard lk(mu);
    out.reserve(sessions.size());
    for (auto& [_, weak] : sessions)
      if (auto s = weak.lock()) out.push_back(std::move(s));
    return out;
  }
};

// Copies the handler's response into a Beast message. The server owns framing:
// Content-Length, Transfer-Encoding and Connection from the handler are ignored,
// except that a HEAD response may declare the Content-Length of the entity it
// describes (OCI blob HEAD) while sending no body.
void buildResponse(http::response<http::string_body>& out, HttpResponse&& in, unsigned version, bool keepAlive,
                   bool isHead, const std::string& date) {
  out = {};
  out.version(version >= 11 ? 11 : 10);
  int status = in.status;
  if (status < 100 || status > 999) {
    log::warn("http handler returned an invalid status; sending 500", {{"status", status}});
    status = 500;
  }
  out.result(static_cast<unsigned>(status));
  bool hasDate = false;
  std::optional<std::uint64_t> declaredLength;
  for (auto& [name, value] : in.headers) {
    if (beast::iequals(name, "content-length")) {
      std::uint64_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec == std::errc() && p == value.data() + value.size()) declaredLength = n;
      continue;
    }
    if (beast::iequals(name, "transfer-encoding") || beast::iequals(name, "connection")) continue;
    if (beast::iequals(name, "date")) hasDate = true;
    out.insert(name, value);
  }
  if (!hasDate) out.set(http::field::date, date);
  // RFC 7230 section 3.3.2: no Content-Length on 1xx/204; 304 carries no body.
  bool noBody = status < 200 || status == 204 || status == 304;
  if (!noBody && isHead) {
    out.content_length(declaredLength.value_or(in.body.size()));
  } else if (!noBody) {
    out.content_length(in.body.size());
    out.body() = std::move(in.body);
  }
  out.keep_alive(keepAlive);
}

// Method, target, lowercased headers and peer: everything but the body.
HttpRequest requestHead(const http::request_header<>& m, const std::string& remote) {
  HttpRequest r;
  r.method = std::string(m.method_string());
  r.target = std::string(m.target());
  for (const auto& f : m) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  r.remoteAddress = remote;
  return r;
}

HttpRequest toHttpRequest(http::request<http::string_body>&& m, const std::string& remote) {
  HttpRequest r = requestHead(m, remote);
  r.body = std::move(m.body());
  return r;
}

// One connection. Members are touched only on the connection's strand, except
// what the worker running the handler reads: core_, executor_ (both immutable)
// and requestStart_ (written before the handler is posted, not again until the
// response is back on the strand).
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<ServerCore> core, bool counted)
      : core_(std::move(core)),
        stream_(std::move(socket)),
        executor_(stream_.get_executor()),
        deadline_(executor_),
        counted_(counted) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = endpointString(ep);
  }

  ~Session() {
    std::lock_guard lk(core_->mu);
    core_->sessions.erase(this);
    if (counted_ && core_->active.fetch_sub(1) == 1) core_->cv.notify_all();
  }

  // Called from the acceptor (not this strand) before any I/O starts. Rejected
  // connections are registered too (so shutdown can close them) but not counted.
  void registerWithCore() {
    std::lock_guard lk(core_->mu);
    core_->sessions.emplace(this, weak_from_this());
    if (counted_) core_->active.fetch_add(1);
  }

  void start() {
    asio::dispatch(executor_, [self = shared_from_this()] { self->readRequest(); });
  }

  // Over maxConnections: answer 503 and close, without reading a request.
  void reject() {
    asio::dispatch(executor_, [self = shared_from_this()] {
      self->sendError(503, "too many connections", "");
    });
  }

  // Shutdown began: close now if nothing of a request has arrived; otherwise the
  // stopping flag makes the current response carry Connection: close (or, if the
  // header is still arriving, turns the request into a 503).
  void onShutdown() {
    asio::dispatch(executor_, [self = shared_from_this()] {
      if (self->phase_ == Phase::kClosing) return;
      if (self->nothingReceived()) self->closeNow();
    });
  }

  // Grace period over and the I/O threads are joined: drop the connection
  // whatever it was doing. Called from the shutdown thread; safe because no
  // I/O thread runs any more (a worker may still run the handler, but that only
  // reads immutable members).
  void closeAfterIoStopped() {
    forced_ = true;
    closeNow();
  }

 private:
  enum class Phase { kIdle, kHeader, kBody, kHandling, kWriting, kClosing };

  const HttpServerOptions& opts() const { return core_->options; }

  // Worker side of a strand step: the result, or nullopt if the I/O threads stopped first.
  template <class T>
  std::optional<T> waitOnStrand(std::future<T>& result) const {
    while (result.wait_for(std::chrono::milliseconds(200)) != std::future_status::ready)
      if (core_->ioStopped.load()) return std::nullopt;
    return result.get();
  }

  bool nothingReceived() const {
    return phase_ == Phase::kIdle ||
           (phase_ == Phase::kHeader && buffer_.size() == 0 && parser_ && !parser_->got_some());
  }

  void readRequest() {
    if (phase_ == Phase::kClosing) return;
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(opts().maxHeaderBytes));
    // The body limit depends on the route (buffered or streamed), known only
    // once the header is in: onHeader() checks Content-Length and sets it.
    // (Not boost::none: this Beast compares len_ > body_limit_ on the optional, and anything > none.)
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    if (core_->stopping.load() && buffer_.size() == 0) {
      closeNow();
      return;
    }
    // The first request's deadline runs from accept (a connection that never
    // sends anything is a slowloris too); later ones wait idleTimeout for their
    // first byte and then get headerTimeout for the rest of the header.
    if (buffer_.size() == 0 && served_ > 0) {
      waitIdle();
    } else {
      readHeader();
    }
  }

  void waitIdle() {
    phase_ = Phase::kIdle;
    stream_.expires_after(opts().idleTimeout);
    stream_.async_read_some(buffer_.prepare(kIdleReadBytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->onIdleRead(ec, n);
                            });
  }

  void onIdleRead(beast::error_code ec, std::size_t n) {
    if (ec) {  // idle timeout (tcp_stream already closed), client closed, or shutdown
      closeNow();
      return;
    }
    buffer_.commit(n);
    readHeader();
  }

  void readHeader() {
    phase_ = Phase::kHeader;
    stream_.expires_never();
    armDeadline(opts().headerTimeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onHeader(ec); });
  }

  void onHeader(beast::error_code ec) {
    disarmDeadline();
    if (ec) {
      onReadError(ec);
      return;
    }
    requestStart_ = core_->clock->monotonicNow();
    auto& req = parser_->get();
    requestVersion_ = req.version();
    requestKeepAlive_ = req.keep_alive();
    requestIsHead_ = req.method() == http::verb::head;
    if (core_->stopping.load()) {
      sendError(503, "server is shutting down", "");
      return;
    }
    auto declared = parser_->content_length();
    if (opts().streamBody && opts().streamBody(std::string_view(req.method_string().data(), req.method_string().size()),
                                               std::string_view(req.target().data(), req.target().size()))) {
      if (declared && *declared > opts().maxStreamBodyBytes) {
        sendError(413, "request body too large", "Content-Length over maxStreamBodyBytes");
        return;
      }
      dispatchStreaming();
      return;
    }
    if (declared && *declared > opts().maxBodyBytes) {
      sendError(413, "request body too large", "Content-Length over maxBodyBytes");
      return;
    }
    parser_->body_limit(static_cast<std::uint64_t>(opts().maxBodyBytes));  // bounds chunked bodies
    if (parser_->is_done()) {
      dispatch();
      return;
    }
    // Beast does not answer Expect: 100-continue itself. The declared length is
    // already known to be within limit (else the header read failed with body_limit).
    // If body bytes are already buffered the client didn't wait, so skip the
    // interim response (RFC 7231 section 5.1.1 allows omitting it then).
    auto expect = req.find(http::field::expect);
    if (expect != req.end() && req.version() >= 11 && buffer_.size() == 0 &&
        beast::iequals(expect->value(), "100-continue")) {
      phase_ = Phase::kBody;
      stream_.expires_after(opts().bodyTimeout);
      asio::async_write(stream_, asio::buffer(k100Continue.data(), k100Continue.size()),
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) {
                            self->closeNow();
                            return;
                          }
                          self->readBody();
                        });
      return;
    }
    readBody();
  }

  void readBody() {
    phase_ = Phase::kBody;
    stream_.expires_never();
    armDeadline(opts().bodyTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) { self->onBody(ec); });
  }

  void onBody(beast::error_code ec) {
    disarmDeadline();
    if (ec) {
      onReadError(ec);
      return;
    }
    dispatch();
  }

  void onReadError(beast::error_code ec) {
    if (forced_ || phase_ == Phase::kClosing) {
      closeNow();
      return;
    }
    if (deadlineFired_) {
      if (nothingReceived()) {
        closeNow();  // never started a request: an idle connection, not a slow one
        return;
      }
      bool header = phase_ == Phase::kHeader;
      sendError(408, header ? "request header timed out" : "request body timed out",
                header ? "headerTimeout exceeded" : "bodyTimeout exceeded");
      return;
    }
    if (ec == http::error::header_limit) {
      sendError(431, "request header fields too large", ec.message());
    } else if (ec == http::error::body_limit) {
      sendError(413, "request body too large", ec.message());
    } else if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
      closeNow();  // the client went away (cleanly between requests, or mid-request)
    } else if (isBeastHttpError(ec)) {
      sendError(400, "malformed HTTP request", ec.message());
    } else {
      closeNow();  // socket error: nobody to answer
    }
  }

  // Hands the complete request to a worker. The strand does nothing for this
  // connection until the response comes back, so requests stay in order.
  void dispatch() {
    phase_ = Phase::kHandling;
    auto request = toHttpRequest(parser_->release(), remote_);
    asio::post(*core_->workers, [self = shared_from_this(), request = std::move(request)]() mutable {
      HttpResponse response = self->invokeHandler(request);
      self->respondFromWorker(std::move(response), true);
    });
  }

  // Streamed request body: the handler starts as soon as the header is in and
  // pulls the body through a BodyReader; each read hops to the strand.
  void dispatchStreaming() {
    phase_ = Phase::kHandling;
    auto& req = parser_->get();
    HttpRequest request = requestHead(req, remote_);
    auto expect = req.find(http::field::expect);
    streamNeeds100_ = expect != req.end() && req.version() >= 11 && buffer_.size() == 0 &&
                      beast::iequals(expect->value(), "100-continue");
    streamParser_.emplace(std::move(*parser_));
    parser_.reset();
    streamParser_->body_limit(opts().maxStreamBodyBytes);
    // Beast sizes each socket read by the buffer's free capacity (at least 512
    // bytes, at most 64 KiB): sized by a small header, a 1 GiB upload would take
    // two million 512-byte reads. Give the stream room for 64 KiB reads.
    buffer_.reserve(kStreamReadBytes);
    asio::post(*core_->workers, [self = shared_from_this(), request = std::move(request)]() mutable {
      StreamedBody body(self);
      request.bodyStream = &body;
      HttpResponse response = self->invokeHandler(request);
      // Unread body bytes would be parsed as the next request: close instead.
      self->respondFromWorker(std::move(response), body.complete());
    });
  }

  class StreamedBody final : public BodyReader {
   public:
    explicit StreamedBody(std::shared_ptr<Session> session) : session_(std::move(session)) {
      auto n = session_->streamParser_->content_length();
      if (n) length_ = *n;
    }
    Result<std::size_t> read(char* out, std::size_t max) override {
      if (complete_ || max == 0) return std::size_t{0};
      auto done = std::make_shared<std::promise<Result<std::size_t>>>();
      auto result = done->get_future();
      asio::post(session_->executor_, [s = session_, out, max, done] { s->streamRead(out, max, done); });
      auto waited = session_->waitOnStrand(result);
      if (!waited) return Error::make(ErrorCode::kUnavailable, "server is shutting down");
      auto r = std::move(*waited);
      if (r.ok() && *r == 0) complete_ = true;
      if (!r.ok()) failed_ = true;
      return r;
    }
    std::optional<std::uint64_t> contentLength() const override { return length_; }
    bool complete() {
      if (complete_ || failed_) return complete_;
      // The handler may have read exactly Content-Length bytes without asking for the end.
      auto done = std::make_shared<std::promise<bool>>();
      auto result = done->get_future();
      asio::post(session_->executor_,
                 [s = session_, done] { done->set_value(s->streamParser_ && s->streamParser_->is_done()); });
      complete_ = session_->waitOnStrand(result).value_or(false);
      return complete_;
    }

   private:
    std::shared_ptr<Session> session_;
    std::optional<std::uint64_t> length_;
    bool complete_ = false;
    bool failed_ = false;
  };

  // On the strand: fill `out` with up to `max` body bytes (as many as arrive
  // before the buffer is full or the body ends), then fulfil `done`.
  void streamRead(char* out, std::size_t max, std::shared_ptr<std::promise<Result<std::size_t>>> done) {
    if (phase_ == Phase::kClosing || !streamParser_) {
      done->set_value(Error::make(ErrorCode::kIo, "connection closed"));
      return;
    }
    if (streamParser_->is_done()) {
      done->set_value(std::size_t{0});
      return;
    }
    if (streamNeeds100_) {
      streamNeeds100_ = false;
      stream_.expires_after(opts().bodyTimeout);
      asio::async_write(stream_, asio::buffer(k100Continue.data(), k100Continue.size()),
                        [self = shared_from_this(), out, max, done](beast::error_code ec, std::size_t) {
                          if (ec) {
                            done->set_value(Error::make(ErrorCode::kIo, "client went away: " + ec.message()));
                            return;
                          }
                          self->streamRead(out, max, done);
                        });
      return;
    }
    streamFill(out, max, 0, done);
  }

  void streamFill(char* out, std::size_t max, std::size_t got,
                  std::shared_ptr<std::promise<Result<std::size_t>>> done) {
    auto& body = streamParser_->get().body();
    body.data = out + got;
    body.size = max - got;
    body.more = true;
    // bodyTimeout bounds progress, not the whole (possibly huge) body.
    stream_.expires_after(opts().bodyTimeout);
    http::async_read_some(
        stream_, buffer_, *streamParser_,
        [self = shared_from_this(), out, max, got, done](beast::error_code ec, std::size_t) {
          auto& b = self->streamParser_->get().body();
          std::size_t now = max - b.size;
          if (ec == http::error::need_buffer) ec = {};
          if (ec) {
            if (ec == http::error::body_limit)
              done->set_value(Error::make(ErrorCode::kPayloadTooLarge, "request body over the server's limit"));
            else
              done->set_value(Error::make(ErrorCode::kIo, "reading the request body failed: " + ec.message()));
            return;
          }
          if (now < max && !self->streamParser_->is_done()) {
            self->streamFill(out, max, now, done);
            return;
          }
          done->set_value(now);
        });
  }

  // The handler answered with a DeferredResponse: the worker goes back to the
  // pool and the connection waits (phase kHandling) until the owner completes
  // it. The binding holds the session alive; shutdown unbinds it.
  void park(std::shared_ptr<DeferredResponse> deferred, bool mayKeepAlive) {
    {
      std::lock_guard lk(core_->parkedMu);
      core_->parked.emplace(deferred.get(), deferred);
    }
    DeferredResponse* key = deferred.get();
    deferred->bind([self = shared_from_this(), key, mayKeepAlive](HttpResponse&& response) {
      // Runs on the completing thread, under the deferred's lock: hand over and return.
      asio::post(self->executor_, [self, key, mayKeepAlive, response = std::move(response)]() mutable {
        {
          std::lock_guard lk(self->core_->parkedMu);
          self->core_->parked.erase(key);
        }
        if (response.stream || response.deferred) {
          log::warn("deferred response completed with a stream or another deferral; sending 500");
          response = self->core_->errorResponse(500, "internal error");
        }
        self->writeResponse(std::move(response), mayKeepAlive);
      });
    });
  }

  // Runs on the worker that ran the handler. Buffered responses go back to the
  // strand in one piece; streamed ones are produced here chunk by chunk, so a
  // slow disk never blocks an I/O thread.
  void respondFromWorker(HttpResponse&& response, bool mayKeepAlive) {
    if (response.deferred) {
      park(std::move(response.deferred), mayKeepAlive);
      return;
    }
    if (response.eventStream) {
      bool bodyless = response.status < 200 || response.status == 204 || response.status == 304;
      if (!requestIsHead_ && !bodyless) {
        streamEvents(std::move(response));
        return;
      }
      response.eventStream.reset();
    }
    bool bodyless = response.status < 200 || response.status == 204 || response.status == 304;
    if (!response.stream || requestIsHead_ || bodyless) {
      if (response.stream && !bodyless) {
        response.headers.emplace_back("Content-Length", std::to_string(response.stream->length()));
      }
      response.stream.reset();
      asio::post(executor_, [self = shared_from_this(), response = std::move(response), mayKeepAlive]() mutable {
        self->writeResponse(std::move(response), mayKeepAlive);
      });
      return;
    }
    auto source = std::move(response.stream);
    const std::uint64_t length = source->length();
    auto headerSent = std::make_shared<std::promise<bool>>();
    auto headerDone = headerSent->get_future();
    asio::post(executor_, [self = shared_from_this(), response = std::move(response), mayKeepAlive, length,
                           headerSent]() mutable {
      self->writeStreamHeader(std::move(response), mayKeepAlive, length, headerSent);
    });
    if (!waitOnStrand(headerDone).value_or(false)) return;  // connection gone; the strand already closed it
    bool keepAlive = streamKeepAlive_;
    std::vector<char> chunk(std::size_t(1) << 20);
    std::uint64_t sent = 0;
    bool ok = true;
    while (sent < length) {
      auto want = static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), length - sent));
      auto n = source->read(chunk.data(), want);
      if (!n.ok() || *n == 0) {
        log::warn("http response body source failed; closing the connection",
                  {{"sent", sent}, {"length", length}, {"error", n.ok() ? "short source" : n.error().message}});
        ok = false;
        break;
      }
      auto written = std::make_shared<std::promise<bool>>();
      auto writtenDone = written->get_future();
      asio::post(executor_, [self = shared_from_this(), data = chunk.data(), size = *n, written] {
        if (self->phase_ == Phase::kClosing) {
          written->set_value(false);
          return;
        }
        self->stream_.expires_after(self->opts().bodyTimeout);
        asio::async_write(self->stream_, asio::buffer(data, size),
                          [written](beast::error_code ec, std::size_t) { written->set_value(!ec); });
      });
      if (!waitOnStrand(writtenDone).value_or(false)) {
        ok = false;
        break;
      }
      sent += *n;
    }
    asio::post(executor_, [self = shared_from_this(), ok, keepAlive] {
      self->resHeader_ = {};
      self->headerSerializer_.reset();
      self->onWrite(ok ? beast::error_code{} : beast::error_code(asio::error::broken_pipe), keepAlive);
    });
  }

  // An event stream (HttpResponse::eventStream) on this worker: the header,
  // then each piece the source yields as one chunk, until the source ends,
  // the client goes away (a read on the idle socket fails) or the server
  // shuts down (it cancels every open source). The connection then closes.
  void streamEvents(HttpResponse&& response) {
    auto source = std::move(response.eventStream);
    if (!core_->openStream(source)) {
      const std::size_t limit = core_->eventStreamLimit();
      auto refusal = core_->stopping.load()
                         ? core_->errorResponse(503, "server is shutting down")
                         : core_->errorResponse(503, "too many event streams are open (at most " +
                                                         std::to_string(limit) + "); retry later");
      asio::post(executor_, [self = shared_from_this(), refusal = std::move(refusal)]() mutable {
        self->writeResponse(std::move(refusal), false);
      });
      return;
    }
    struct Registration {
      ServerCore& core;
      EventStreamSource* source;
      ~Registration() { core.closeStream(source); }
    } registration{*core_, source.get()};

    const bool chunked = requestVersion_ >= 11;
    auto headerSent = std::make_shared<std::promise<bool>>();
    auto headerDone = headerSent->get_future();
    asio::post(executor_, [self = shared_from_this(), response = std::move(response), chunked, source,
                           headerSent]() mutable {
      self->writeEventStreamHeader(std::move(response), chunked, headerSent);
      if (self->phase_ == Phase::kWriting) self->watchForDisconnect(source);
    });
    if (!waitOnStrand(headerDone).value_or(false)) {
      source->cancel();
      return;
    }
    bool ok = true;
    for (;;) {
      if (core_->stopping.load()) break;
      auto piece = source->next();
      if (!piece) break;
      if (piece->empty()) continue;
      auto data = std::make_shared<std::string>();
      if (chunked) {
        char size[24];
        std::snprintf(size, sizeof size, "%zx\r\n", piece->size());
        data->reserve(piece->size() + 32);
        data->append(size).append(*piece).append("\r\n");
      } else {
        *data = std::move(*piece);
      }
      if (!writeFromWorker(data)) {
        ok = false;
        break;
      }
    }
    source->cancel();
    if (ok && chunked) (void)writeFromWorker(std::make_shared<std::string>("0\r\n\r\n"));
    asio::post(executor_, [self = shared_from_this()] {
      self->resHeader_ = {};
      self->headerSerializer_.reset();
      ++self->served_;
      self->closeNow();  // an event stream's connection is not reused
    });
  }

  // Writes `data` on the strand and waits; false when the connection is gone.
  bool writeFromWorker(std::shared_ptr<std::string> data) {
    auto written = std::make_shared<std::promise<bool>>();
    auto writtenDone = written->get_future();
    asio::post(executor_, [self = shared_from_this(), data, written] {
      if (self->phase_ == Phase::kClosing) {
        written->set_value(false);
        return;
      }
      self->stream_.expires_after(self->opts().bodyTimeout);  // a client that stops reading
      asio::async_write(self->stream_, asio::buffer(*data),
                        [written, data](beast::error_code ec, std::size_t) { written->set_value(!ec); });
    });
    return waitOnStrand(writtenDone).value_or(false);
  }

  // While a stream is open the client sends nothing; a read that fails means
  // it went away (the stream would otherwise notice only at its next write).
  // Reads the raw socket: tcp_stream's timeout would close it.
  void watchForDisconnect(std::shared_ptr<EventStreamSource> source) {
    stream_.socket().async_read_some(asio::buffer(disconnectProbe_),
                                     [self = shared_from_this(), source](beast::error_code ec, std::size_t) {
                                       if (ec) {
                                         source->cancel();
                                         return;
                                       }
                                       self->watchForDisconnect(source);  // stray bytes are discarded
                                     });
  }

  void writeEventStreamHeader(HttpResponse&& response, bool chunked, std::shared_ptr<std::promise<bool>> headerSent) {
    if (phase_ == Phase::kClosing) {
      headerSent->set_value(false);
      return;
    }
    resHeader_ = {};
    resHeader_.version(requestVersion_ >= 11 ? 11 : 10);
    resHeader_.result(static_cast<unsigned>(response.status));
    bool hasDate = false, hasType = false, hasCache = false;
    for (auto& [name, value] : response.headers) {
      if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
          beast::iequals(name, "connection"))
        continue;
      if (beast::iequals(name, "date")) hasDate = true;
      if (beast::iequals(name, "content-type")) hasType = true;
      if (beast::iequals(name, "cache-control")) hasCache = true;
      resHeader_.insert(name, value);
    }
    if (!hasDate) resHeader_.set(http::field::date, httpDate(core_->clock->now()));
    if (!hasType) resHeader_.set(http::field::content_type, "text/event-stream");
    if (!hasCache) resHeader_.set(http::field::cache_control, "no-cache");
    if (chunked) resHeader_.chunked(true);
    resHeader_.keep_alive(false);
    sendHeader(std::move(headerSent));
  }

  // Writes resHeader_ alone (the body follows from a worker thread) and
  // tells `headerSent` whether it went out.
  void sendHeader(std::shared_ptr<std::promise<bool>> headerSent) {
    phase_ = Phase::kWriting;
    headerSerializer_.emplace(resHeader_);
    stream_.expires_after(opts().bodyTimeout);
    http::async_write_header(stream_, *headerSerializer_,
                             [self = shared_from_this(), headerSent](beast::error_code ec, std::size_t) {
                               if (ec) {
                                 self->closeNow();
                                 headerSent->set_value(false);
                                 return;
                               }
                               headerSent->set_value(true);
                             });
  }

  void writeStreamHeader(HttpResponse&& response, bool mayKeepAlive, std::uint64_t length,
                         std::shared_ptr<std::promise<bool>> headerSent) {
    if (phase_ == Phase::kClosing) {
      headerSent->set_value(false);
      return;
    }
    streamKeepAlive_ = mayKeepAlive && requestKeepAlive_ && !core_->stopping.load();
    resHeader_ = {};
    resHeader_.version(requestVersion_ >= 11 ? 11 : 10);
    resHeader_.result(static_cast<unsigned>(response.status));
    bool hasDate = false;
    for (auto& [name, value] : response.headers) {
      if (beast::iequals(name, "content-length") || beast::iequals(name, "transfer-encoding") ||
          beast::iequals(name, "connection"))
        continue;
      if (beast::iequals(name, "date")) hasDate = true;
      resHeader_.insert(name, value);
    }
    if (!hasDate) resHeader_.set(http::field::date, httpDate(core_->clock->now()));
    resHeader_.content_length(length);
    resHeader_.keep_alive(streamKeepAlive_);
    sendHeader(std::move(headerSent));
  }

  // Runs on a worker thread; touches only immutable state.
  HttpResponse invokeHandler(const HttpRequest& request) const {
    HttpResponse response;
    try {
      response = core_->handler(request);
    } catch (const std::exception& e) {
      log::warn("http handler threw", {{"method", request.method}, {"path", request.path()}, {"error", e.what()}});
      response = core_->errorResponse(500, "internal error");
    } catch (...) {
      log::warn("http handler threw",
                {{"method", request.method}, {"path", request.path()}, {"error", "non-standard exception"}});
      response = core_->errorResponse(500, "internal error");
    }
    auto elapsed = core_->clock->monotonicNow() - requestStart_;
    if (log::enabled(log::Level::kDebug)) {
      log::debug("http request", {{"method", request.method},
                                  {"path", request.path()},
                                  {"status", response.status},
                                  {"durationMs", std::chrono::duration<double, std::milli>(elapsed).count()},
                                  {"remote", request.remoteAddress}});
    }
    return response;
  }

  void writeResponse(HttpResponse&& response, bool mayKeepAlive) {
    if (phase_ == Phase::kClosing) return;  // force-closed while the handler ran
    bool keepAlive = mayKeepAlive && requestKeepAlive_ && !core_->stopping.load();
    buildResponse(res_, std::move(response), requestVersion_, keepAlive, requestIsHead_,
                  httpDate(core_->clock->now()));
    phase_ = Phase::kWriting;
    // bodyTimeout also bounds a client that stops reading its response.
    stream_.expires_after(opts().bodyTimeout);
    http::async_write(stream_, res_, [self = shared_from_this(), keepAlive](beast::error_code ec, std::size_t) {
      self->onWrite(ec, keepAlive);
    });
  }

  void onWrite(beast::error_code ec, bool keepAlive) {
    res_ = {};  // release the body now rather than at the next response
    if (streamParser_) {
      streamParser_.reset();
      if (buffer_.size() == 0) buffer_.shrink_to_fit();  // idle keep-alive connections stay small
    }
    ++served_;
    if (ec) {
      closeNow();
      return;
    }
    if (!keepAlive) {
      lingerClose();
      return;
    }
    readRequest();
  }

  // Protocol-level failure detected by the server: answer and close.
  void sendError(int status, std::string_view message, std::string_view detail) {
    log::warn("http protocol error",
              {{"status", status}, {"message", message}, {"detail", detail}, {"remote", remote_}});
    requestIsHead_ = false;
    if (phase_ != Phase::kHeader && phase_ != Phase::kBody) requestVersion_ = 11;
    writeResponse(core_->errorResponse(status, message), false);
  }

  void lingerClose() {
    phase_ = Phase::kClosing;
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (ec) {
      closeNow();
      return;
    }
    buffer_.clear();
    stream_.expires_after(kLingerTimeout);
    drain();
  }

  void drain() {
    stream_.async_read_some(buffer_.prepare(kIdleReadBytes),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) {
                                self->closeNow();
                                return;
                              }
                              self->drain();  // nothing committed: the bytes are discarded
                            });
  }

  void closeNow() {
    phase_ = Phase::kClosing;
    disarmDeadline();
    stream_.close();
  }

  // Header/body deadlines use our own timer (not tcp_stream's, which closes the
  // socket on expiry) so that a timed-out client can still be told 408.
  void armDeadline(std::chrono::steady_clock::duration d) {
    deadlineFired_ = false;
    auto gen = ++deadlineGen_;
    deadline_.expires_after(d);
    deadline_.async_wait([self = shared_from_this(), gen](beast::error_code ec) {
      if (ec || gen != self->deadlineGen_) return;
      self->deadlineFired_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
  }

  void disarmDeadline() {
    ++deadlineGen_;
    deadline_.cancel();
  }

  std::shared_ptr<ServerCore> core_;
  beast::tcp_stream stream_;
  const asio::any_io_executor executor_;
  asio::steady_timer deadline_;
  std::uint64_t deadlineGen_ = 0;
  bool deadlineFired_ = false;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // Streamed requests: the parser after the header, delivering into the handler's buffers.
  std::optional<http::request_parser<http::buffer_body>> streamParser_;
  bool streamNeeds100_ = false;
  // Streamed responses: the header goes out through this serializer, the body as raw writes.
  http::response<http::empty_body> resHeader_;
  std::optional<http::response_serializer<http::empty_body>> headerSerializer_;
  bool streamKeepAlive_ = false;
  std::array<char, 256> disconnectProbe_{};  // event streams: discards whatever the client sends
  http::response<http::string_body> res_;
  std::string remote_;
  Phase phase_ = Phase::kIdle;
  const bool counted_;
  bool forced_ = false;
  std::uint64_t served_ = 0;
  unsigned requestVersion_ = 11;
  bool requestKeepAlive_ = false;
  bool requestIsHead_ = false;
  std::chrono::steady_clock::time_point requestStart_;
};

}  // namespace

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, HttpHandler handler)
      : core_(std::make_shared<ServerCore>()),
        ioc_(std::max(1, options.ioThreads)),
        acceptor_(asio::make_strand(ioc_)),
        acceptRetry_(acceptor_.get_executor()) {
    core_->options = std::move(options);
    core_->handler = std::move(handler);
    core_->clock = core_->options.clock ? core_->options.clock : &core_->systemClock;
  }

  ~Impl() {
    // Only reached without shutdown() when start() failed before threads ran.
    for (auto& t : ioThreads_)
      if (t.joinable()) t.join();
  }

  Status listen() {
    const auto& o = core_->options;
    if (o.ioThreads < 1 || o.workerThreads < 1 || o.maxConnections < 1 || o.maxHeaderBytes < 1 ||
        o.maxHeaderBytes > std::numeric_limits<std::uint32_t>::max()) {
      return Error::make(ErrorCode::kInvalidParameter,
                         "HTTP server options out of range: ioThreads, workerThreads, maxConnections and "
                         "maxHeaderBytes must be positive (maxHeaderBytes < 4 GiB)");
    }
    beast::error_code ec;
    tcp::endpoint endpoint;
    auto addr = asio::ip::make_address(o.host, ec);
    if (!ec) {
      endpoint = tcp::endpoint(addr, o.port);
    } else {
      tcp::resolver resolver(ioc_);
      auto results = resolver.resolve(o.host, std::to_string(o.port), ec);
      if (ec || results.empty()) {
        return Error::make(ErrorCode::kInvalidParameter,
                           "cannot resolve HTTP listen host '" + o.host + "': " + ec.message() +
                               "; use an IP address or a resolvable name",
                           o.host);
      }
      endpoint = results.begin()->endpoint();
    }
    auto fail = [&](const char* what) -> Status {
      return Error::make(ErrorCode::kIo,
                         std::string("cannot ") + what + " HTTP listener on " + endpointString(endpoint) + ": " +
                             ec.message() + " (is another process using the port?)",
                         endpointString(endpoint));
    };
    acceptor_.open(endpoint.protocol(), ec);
    if (ec) return fail("open");
    acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (ec) return fail("configure");
    acceptor_.bind(endpoint, ec);
    if (ec) return fail("bind");
    acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return fail("listen on");
    auto local = acceptor_.local_endpoint(ec);
    if (ec) return fail("query");
    port_ = local.port();
    address_ = endpointString(local);
    return okStatus();
  }

  void run() {
    workers_ = std::make_unique<asio::thread_pool>(static_cast<std::size_t>(core_->options.workerThreads));
    core_->workers = workers_.get();
    work_.emplace(asio::make_work_guard(ioc_));
    asio::dispatch(acceptor_.get_executor(), [this] { accept(); });
    ioThreads_.reserve(static_cast<std::size_t>(core_->options.ioThreads));
    for (int i = 0; i < core_->options.ioThreads; ++i) {
      ioThreads_.emplace_back([this] {
        // Handlers don't throw by design; if one does (e.g. bad_alloc), log and keep the thread serving.
        for (;;) {
          try {
            ioc_.run();
            return;
          } catch (const std::exception& e) {
            log::error("http io thread caught exception", {{"error", e.what()}});
          }
        }
      });
    }
    log::info("http server listening", {{"address", address_}});
  }

  void shutdown(std::chrono::seconds grace) {
    std::lock_guard guard(shutdownMu_);
    if (shutDown_) return;
    shutDown_ = true;
    core_->stopping.store(true);

    // Close the listening socket on its strand and wait, so connects are refused
    // from here on (a listening socket would still complete TCP handshakes).
    std::promise<void> closed;
    asio::post(acceptor_.get_executor(), [this, &closed] {
      beast::error_code ec;
      acceptor_.close(ec);
      acceptRetry_.cancel();
      closed.set_value();
    });
    closed.get_future().wait();

    for (auto& s : core_->snapshotSessions()) s->onShutdown();
    core_->cancelStreams();  // open event streams end now, within the grace period
    // Parked requests: their owners answer now (or we answer 503), so they
    // are written within the grace period like any request in flight.
    for (auto& d : core_->snapshotParked())
      if (!d->notifyServerShutdown()) d->complete(core_->errorResponse(503, "server is shutting down"));

    bool drained;
    {
      std::unique_lock lk(core_->mu);
      drained = core_->cv.wait_for(lk, grace, [&] { return core_->active.load() == 0; });
    }
    if (!drained) {
      log::warn("http shutdown grace period over; closing remaining connections",
                {{"connections", core_->active.load()}, {"graceSeconds", grace.count()}});
      workers_->stop();  // drop handlers that have not started yet
    }
    work_.reset();
    ioc_.stop();
    for (auto& t : ioThreads_) t.join();
    core_->ioStopped.store(true);
    for (auto& s : core_->snapshotSessions()) s->closeAfterIoStopped();
    // A completion from now on must not post to an io_context about to go away.
    for (auto& d : core_->snapshotParked()) d->unbind();
    workers_->join();  // waits for handlers already running
    log::info("http server stopped", {{"address", address_}});
  }

  std::uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }
  std::size_t activeConnections() const { return core_->active.load(); }

 private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      onAccept(ec, std::move(socket));
    });
  }

  void onAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
    if (ec) {
      // Typically EMFILE/ENFILE: back off instead of spinning on the error.
      log::warn("http accept failed", {{"error", ec.message()}});
      acceptRetry_.expires_after(std::chrono::milliseconds(50));
      acceptRetry_.async_wait([this](beast::error_code e) {
        if (!e) accept();
      });
      return;
    }
    if (core_->stopping.load()) return;  // socket closes as it goes out of scope
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // small request/response exchanges
    if (core_->active.load() >= core_->options.maxConnections) {
      log::warn("http connection limit reached; rejecting",
                {{"maxConnections", core_->options.maxConnections}});
      auto session = std::make_shared<Session>(std::move(socket), core_, false);
      session->registerWithCore();
      session->reject();
    } else {
      auto session = std::make_shared<Session>(std::move(socket), core_, true);
      session->registerWithCore();
      session->start();
    }
    accept();
  }

  // Destruction order matters: workers_ and threads go first, then the
  // io_context destroys any pending handlers (and the sessions they hold),
  // which still reference core_.
  std::shared_ptr<ServerCore> core_;
  asio::io_context ioc_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  tcp::acceptor acceptor_;
  asio::steady_timer acceptRetry_;
  std::vector<std::thread> ioThreads_;
  std::unique_ptr<asio::thread_pool> workers_;
  std::mutex shutdownMu_;
  bool shutDown_ = false;
  std::uint16_t port_ = 0;
  std::string address_;
};

Result<std::unique_ptr<HttpServer>> HttpServer::start(HttpServerOptions options, HttpHandler handler) {
  if (!handler) return Error::make(ErrorCode::kInvalidParameter, "HTTP server needs a request handler");
  auto impl = std::make_unique<Impl>(std::move(options), std::move(handler));
  auto listened = impl->listen();
  if (!listened.ok()) return listened.takeError();
  impl->run();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() { shutdown(); }

std::uint16_t HttpServer::port() const { return impl_->port(); }
std::string HttpServer::address() const { return impl_->address(); }
void HttpServer::shutdown(std::chrono::seconds grace) { impl_->shutdown(grace); }
std::size_t HttpServer::activeConnections() const { return impl_->activeConnections(); }

}  // namespace berth::api

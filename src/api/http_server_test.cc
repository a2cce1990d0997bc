#include "api/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace berth::api {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

// A deliberately dumb HTTP client on POSIX sockets, so the tests see exactly the
// bytes the server writes (100 Continue, framing, closes) with bounded waits.
struct RawResponse {
  std::string statusLine;
  int status = 0;
  std::map<std::string, std::string> headers;  // lowercased names
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class RawClient {
 public:
  explicit RawClient(std::uint16_t port) {
    std::signal(SIGPIPE, SIG_IGN);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() { close(); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  bool send(std::string_view data) {
    while (!data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // Appends whatever arrives within `timeout`; false on EOF, error or timeout.
  bool recvSome(Ms timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  std::optional<std::string> readUntil(std::string_view delim, Ms timeout = 5000ms) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto pos = buf_.find(delim);
      if (pos != std::string::npos) {
        std::string out = buf_.substr(0, pos + delim.size());
        buf_.erase(0, pos + delim.size());
        return out;
      }
      auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || !recvSome(left)) return std::nullopt;
    }
  }

  std::optional<RawResponse> readResponse(bool headRequest = false, Ms timeout = 5000ms) {
    auto head = readUntil("\r\n\r\n", timeout);
    if (!head) return std::nullopt;
    RawResponse r;
    std::size_t lineEnd = head->find("\r\n");
    r.statusLine = head->substr(0, lineEnd);
    if (r.statusLine.size() < 12) return std::nullopt;
    r.status = std::stoi(r.statusLine.substr(9, 3));
    std::size_t pos = lineEnd + 2;
    while (pos < head->size() - 2) {
      std::size_t end = head->find("\r\n", pos);
      std::string line = head->substr(pos, end - pos);
      pos = end + 2;
      auto colon = line.find(':');
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    if (headRequest || r.status / 100 == 1 || r.status == 204 || r.status == 304) return r;
    std::size_t length = std::stoul(r.header("content-length").empty() ? "0" : r.header("content-length"));
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (buf_.size() < length) {
      auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms || !recvSome(left)) return std::nullopt;
    }
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
    return r;
  }

  // True when the server closes the connection (EOF or reset) within `timeout`
  // (bytes that arrive meanwhile are kept in the buffer).
  bool waitForClose(Ms timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
      auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      recvSome(0ms);
    }
    return true;
  }

  const std::string& buffered() const { return buf_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string buf_;
};

std::string get(std::string_view target, std::string_view extra = "") {
  return std::string("GET ") + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra) + "\r\n";
}

std::string post(std::string_view target, std::string_view body, std::string_view extra = "") {
  return std::string("POST ") + std::string(target) + " HTTP/1.1\r\nHost: test\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extra) + "\r\n" + std::string(body);
}

// Echoes what it saw so tests can check the request made it through intact.
HttpResponse echoHandler(const HttpRequest& req) {
  HttpResponse r;
  if (req.path() == "/throw") throw std::runtime_error("boom");
  r.setHeader("Content-Type", "text/plain");
  if (const auto* v = req.header("x-test")) r.setHeader("X-Seen-Test", *v);
  r.body = req.method + " " + req.target + "\n" + req.body;
  return r;
}

std::unique_ptr<HttpServer> startServer(HttpServerOptions options, HttpHandler handler = echoHandler) {
  auto server = HttpServer::start(std::move(options), std::move(handler));
  if (!server.ok()) {
    ADD_FAILURE() << "start failed: " << server.error().message;
    return nullptr;
  }
  return std::move(server).value();
}

HttpServerOptions smallOptions() {
  HttpServerOptions o;
  o.ioThreads = 2;
  o.workerThreads = 4;
  return o;
}

TEST(HttpServerTest, GetAndPostRoundTrip) {
  auto server = startServer(smallOptions());
  ASSERT_TRUE(server);
  EXPECT_NE(server->port(), 0);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));

  RawClient c(server->port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send(get("/echo?x=1", "X-Test: Hello\r\n")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusLine, "HTTP/1.1 200 OK");
  EXPECT_EQ(r->body, "GET /echo?x=1\n");
  EXPECT_EQ(r->header("x-seen-test"), "Hello");  // sent as X-Test, seen lowercased by the handler
  EXPECT_EQ(r->header("content-length"), std::to_string(r->body.size()));
  EXPECT_TRUE(r->header("date").ends_with(" GMT")) << r->header("date");
  EXPECT_EQ(r->header("connection"), "");

  std::string body(100000, 'b');
  ASSERT_TRUE(c.send(post("/things", body, "Content-Type: application/json\r\n")));
  r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /things\n" + body);
}

TEST(HttpServerTest, HeadersReachHandlerLowercasedInOrder) {
  std::promise<HttpRequest> seen;
  auto server = startServer(smallOptions(), [&](const HttpRequest& req) {
    seen.set_value(req);
    return HttpResponse{};
  });
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send("PUT /a/b?c=d HTTP/1.1\r\nHost: h\r\nX-Amz-Target: Svc.Op\r\nX-AMZ-Date: 1\r\n"
                     "Content-Length: 3\r\n\r\nxyz"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  HttpRequest req = seen.get_future().get();
  EXPECT_EQ(req.method, "PUT");
  EXPECT_EQ(req.path(), "/a/b");
  EXPECT_EQ(req.query(), "c=d");
  EXPECT_EQ(req.body, "xyz");
  ASSERT_EQ(req.headers.size(), 4u);
  EXPECT_EQ(req.headers[0].first, "host");
  EXPECT_EQ(req.headers[1], (std::pair<std::string, std::string>("x-amz-target", "Svc.Op")));
  EXPECT_EQ(req.headers[2].first, "x-amz-date");
  EXPECT_TRUE(req.remoteAddress.starts_with("127.0.0.1:")) << req.remoteAddress;
}

TEST(HttpServerTest, KeepAliveHundredRequestsOnOneConnection) {
  auto server = startServer(smallOptions());
  ASSERT_TRUE(server);
  RawClient c(server->port());
  for (int i = 0; i < 100; ++i) {
    std::string body = "n=" + std::to_string(i);
    ASSERT_TRUE(c.send(post("/k", body)));
    auto r = c.readResponse();
    ASSERT_TRUE(r) << "request " << i;
    ASSERT_EQ(r->status, 200);
    ASSERT_EQ(r->body, "POST /k\n" + body);
  }
  EXPECT_EQ(server->activeConnections(), 1u);
}

TEST(HttpServerTest, FiftyConcurrentConnectionsTwentyRequestsEach) {
  auto server = startServer(smallOptions());
  ASSERT_TRUE(server);
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 50; ++t) {
    threads.emplace_back([&, t] {
      RawClient c(server->port());
      for (int i = 0; i < 20; ++i) {
        std::string body = std::to_string(t) + ":" + std::to_string(i);
        if (!c.send(post("/c", body))) return;
        auto r = c.readResponse();
        if (!r || r->status != 200 || r->body != "POST /c\n" + body) return;
        ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 1000);
}

TEST(HttpServerTest, PipelinedRequestsAnsweredInOrder) {
  std::atomic<int> calls{0};
  auto server = startServer(smallOptions(), [&](const HttpRequest& req) {
    // The first request is the slowest: an out-of-order server would answer it last.
    if (calls++ == 0) std::this_thread::sleep_for(100ms);
    return echoHandler(req);
  });
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(get("/a") + post("/b", "bee") + get("/c")));
  auto a = c.readResponse();
  auto b = c.readResponse();
  auto cc = c.readResponse();
  ASSERT_TRUE(a && b && cc);
  EXPECT_EQ(a->body, "GET /a\n");
  EXPECT_EQ(b->body, "POST /b\nbee");
  EXPECT_EQ(cc->body, "GET /c\n");
}

TEST(HttpServerTest, BodyOverLimitGets413AndServerKeepsServing) {
  auto o = smallOptions();
  o.maxBodyBytes = 1024;
  auto server = startServer(o);
  ASSERT_TRUE(server);

  RawClient big(server->port());
  ASSERT_TRUE(big.send("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 4096\r\n\r\n" + std::string(4096, 'x')));
  auto r = big.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(big.waitForClose(3000ms));

  // Chunked bodies have no declared length: the limit applies as they arrive.
  RawClient chunked(server->port());
  std::string chunk(2000, 'y');
  ASSERT_TRUE(chunked.send("POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + chunk +
                           "\r\n0\r\n\r\n"));
  r = chunked.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);

  // Exactly at the limit is fine, and other clients are unaffected.
  RawClient ok(server->port());
  std::string body(1024, 'z');
  ASSERT_TRUE(ok.send(post("/fits", body)));
  r = ok.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "POST /fits\n" + body);
}

TEST(HttpServerTest, HeaderOverLimitGets431) {
  auto o = smallOptions();
  o.maxHeaderBytes = 1024;
  auto server = startServer(o);
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(get("/h", "X-Big: " + std::string(4000, 'h') + "\r\n")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 431);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.waitForClose(3000ms));
}

TEST(HttpServerTest, MalformedRequestLineGets400) {
  auto server = startServer(smallOptions());
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_TRUE(c.waitForClose(3000ms));

  RawClient ok(server->port());
  ASSERT_TRUE(ok.send(get("/fine")));
  r = ok.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST(HttpServerTest, SlowHeaderClientIsCutOffWhileOthersAreServed) {
  auto o = smallOptions();
  o.headerTimeout = std::chrono::seconds(1);
  auto server = startServer(o);
  ASSERT_TRUE(server);

  auto slow = std::async(std::launch::async, [&] {
    RawClient c(server->port());
    auto start = std::chrono::steady_clock::now();
    std::string request = "GET /slow HTTP/1.1\r\nHost: t\r\nX-Trickle: " + std::string(100, 'a');
    for (char ch : request) {
      if (!c.send(std::string_view(&ch, 1))) break;
      if (c.recvSome(100ms) || c.waitForClose(0ms)) break;  // the server answered or hung up
    }
    c.waitForClose(3000ms);
    auto elapsed = std::chrono::steady_clock::now() - start;
    return std::make_pair(std::chrono::duration_cast<Ms>(elapsed), c.buffered());
  });

  // Meanwhile a well-behaved client is served promptly.
  RawClient fast(server->port());
  for (int i = 0; i < 10; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(fast.send(get("/fast")));
    auto r = fast.readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms);
    std::this_thread::sleep_for(50ms);
  }

  auto [elapsed, received] = slow.get();
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 2500ms);
  EXPECT_TRUE(received.starts_with("HTTP/1.1 408")) << received;
}

TEST(HttpServerTest, SilentConnectionClosedAfterHeaderTimeoutAndIdleAfterIdleTimeout) {
  auto o = smallOptions();
  o.headerTimeout = std::chrono::seconds(1);
  o.idleTimeout = std::chrono::seconds(1);
  auto server = startServer(o);
  ASSERT_TRUE(server);

  RawClient silent(server->port());
  EXPECT_TRUE(silent.waitForClose(3000ms));
  EXPECT_EQ(silent.buffered(), "");  // nothing was asked, so nothing is answered

  RawClient idle(server->port());
  ASSERT_TRUE(idle.send(get("/once")));
  ASSERT_TRUE(idle.readResponse());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(idle.waitForClose(3000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 800ms);
}

TEST(HttpServerTest, HandlerExceptionGives500AndServerKeepsServing) {
  auto server = startServer(smallOptions());
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(get("/throw")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, "internal error\n");
  // Same connection still usable: the failure was the handler's, not the protocol's.
  ASSERT_TRUE(c.send(get("/after")));
  r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "GET /after\n");
}

TEST(HttpServerTest, Expect100ContinueIsAnsweredBeforeTheBody) {
  auto o = smallOptions();
  o.maxBodyBytes = 100;
  auto server = startServer(o);
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send("PUT /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.readUntil("\r\n\r\n");
  ASSERT_TRUE(interim);
  EXPECT_EQ(*interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.send("hello"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "PUT /up\nhello");

  // Too large: refused straight after the header, no 100 Continue, no body needed.
  RawClient big(server->port());
  ASSERT_TRUE(big.send("PUT /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n"));
  r = big.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(big.waitForClose(3000ms));
}

TEST(HttpServerTest, Http10ClosesAfterResponseUnlessKeepAlive) {
  auto server = startServer(smallOptions());
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send("GET /old HTTP/1.0\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->statusLine, "HTTP/1.0 200 OK");
  EXPECT_EQ(r->body, "GET /old\n");
  EXPECT_TRUE(c.waitForClose(3000ms));

  RawClient ka(server->port());
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(ka.send("GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
    r = ka.readResponse();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->header("connection"), "keep-alive");
  }
}

TEST(HttpServerTest, ConnectionCloseRequestIsHonoured) {
  auto server = startServer(smallOptions());
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(get("/bye", "Connection: close\r\n")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.waitForClose(3000ms));
}

TEST(HttpServerTest, HeadResponseKeepsDeclaredLengthWithoutBody) {
  auto server = startServer(smallOptions(), [](const HttpRequest& req) {
    HttpResponse r;
    if (req.method == "HEAD") {
      r.setHeader("Content-Length", "12345");
      r.setHeader("Docker-Content-Digest", "sha256:abc");
    } else if (req.path() == "/empty") {
      r.status = 204;
    } else {
      r.body = "full";
    }
    return r;
  });
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send("HEAD /blob HTTP/1.1\r\nHost: t\r\n\r\n"));
  auto r = c.readResponse(/*headRequest=*/true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->header("content-length"), "12345");
  EXPECT_EQ(r->header("docker-content-digest"), "sha256:abc");
  ASSERT_TRUE(c.send(get("/empty")));
  r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->header("content-length"), "");
  // The next response parses cleanly only if no stray body bytes were sent above.
  ASSERT_TRUE(c.send(get("/x")));
  r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "full");
}

TEST(HttpServerTest, ErrorResponseHookShapesProtocolErrors) {
  auto o = smallOptions();
  o.maxBodyBytes = 10;
  std::atomic<int> hookCalls{0};
  o.errorResponse = [&](int status, std::string_view message) {
    ++hookCalls;
    HttpResponse r;
    r.status = status;
    r.setHeader("Content-Type", "application/x-amz-json-1.1");
    r.setHeader("x-amzn-ErrorType", "RequestEntityTooLarge");
    r.body = "{\"__type\":\"RequestEntityTooLarge\",\"message\":\"" + std::string(message) + "\"}";
    return r;
  };
  auto server = startServer(o);
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(post("/", std::string(50, 'q'))));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->header("content-type"), "application/x-amz-json-1.1");
  EXPECT_EQ(r->header("x-amzn-errortype"), "RequestEntityTooLarge");
  EXPECT_EQ(r->body, "{\"__type\":\"RequestEntityTooLarge\",\"message\":\"request body too large\"}");
  EXPECT_EQ(hookCalls.load(), 1);
}

TEST(HttpServerTest, ConnectionsBeyondLimitGet503) {
  auto o = smallOptions();
  o.maxConnections = 2;
  auto server = startServer(o);
  ASSERT_TRUE(server);
  RawClient a(server->port()), b(server->port());
  for (auto* c : {&a, &b}) {
    ASSERT_TRUE(c->send(get("/x")));
    ASSERT_TRUE(c->readResponse());
  }
  EXPECT_EQ(server->activeConnections(), 2u);
  RawClient third(server->port());
  auto r = third.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_TRUE(third.waitForClose(3000ms));
  EXPECT_EQ(server->activeConnections(), 2u);
}

TEST(HttpServerTest, GracefulShutdownFinishesInFlightRequestAndRefusesNewConnections) {
  std::promise<void> started;
  auto server = startServer(smallOptions(), [&](const HttpRequest& req) {
    if (req.path() == "/slow") {
      started.set_value();
      std::this_thread::sleep_for(500ms);
      HttpResponse r;
      r.body = "done";
      return r;
    }
    return echoHandler(req);
  });
  ASSERT_TRUE(server);
  std::uint16_t port = server->port();

  RawClient idle(port);  // keep-alive connection with nothing in flight
  ASSERT_TRUE(idle.send(get("/warmup")));
  ASSERT_TRUE(idle.readResponse());

  RawClient busy(port);
  ASSERT_TRUE(busy.send(get("/slow")));
  ASSERT_EQ(started.get_future().wait_for(5s), std::future_status::ready);

  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper([&] { server->shutdown(std::chrono::seconds(10)); });

  EXPECT_TRUE(idle.waitForClose(2000ms));  // idle keep-alive connections are closed right away
  auto r = busy.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "done");
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(busy.waitForClose(2000ms));
  busy.close();
  stopper.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_EQ(server->activeConnections(), 0u);

  RawClient late(port);
  EXPECT_FALSE(late.connected());
  server->shutdown();  // idempotent
}

TEST(HttpServerTest, ShutdownForceClosesAfterGrace) {
  auto o = smallOptions();
  o.headerTimeout = std::chrono::seconds(30);
  auto server = startServer(o);
  ASSERT_TRUE(server);
  RawClient partial(server->port());
  ASSERT_TRUE(partial.send("GET /never-finished HTTP/1.1\r\nHost:"));  // header started, never completed
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  server->shutdown(std::chrono::seconds(1));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(partial.waitForClose(1000ms));
}

TEST(HttpServerTest, StartFailsOnBadHostAndBusyPort) {
  HttpServerOptions bad = smallOptions();
  bad.host = "definitely-not-a-host.invalid";
  auto r = HttpServer::start(bad, echoHandler);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidParameter);

  auto first = startServer(smallOptions());
  ASSERT_TRUE(first);
  HttpServerOptions same = smallOptions();
  same.port = first->port();
  auto second = HttpServer::start(same, echoHandler);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, ErrorCode::kIo);
}


// --- deferred responses (parked long polls) ----------------------------------

TEST(HttpServerDeferredTest, CompletedFromAnotherThreadWhileTheOnlyWorkerServesOthers) {
  auto o = smallOptions();
  o.workerThreads = 1;
  std::vector<std::thread> completers;
  auto server = startServer(o, [&](const HttpRequest& req) {
    if (req.path() != "/park") return echoHandler(req);
    auto deferred = std::make_shared<DeferredResponse>();
    completers.emplace_back([deferred] {  // only the single worker touches `completers`
      std::this_thread::sleep_for(200ms);
      HttpResponse r;
      r.setHeader("X-Late", "yes");
      r.body = "parked answer";
      EXPECT_TRUE(deferred->complete(std::move(r)));
      EXPECT_FALSE(deferred->complete(HttpResponse{}));  // once only
    });
    HttpResponse r;
    r.deferred = deferred;
    return r;
  });
  ASSERT_TRUE(server);
  RawClient parked(server->port());
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(parked.send(get("/park")));
  std::this_thread::sleep_for(30ms);
  // The parked request holds no worker: with one worker, others are still served.
  RawClient other(server->port());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(other.send(get("/echo/" + std::to_string(i))));
    auto r = other.readResponse(false, 1000ms);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "GET /echo/" + std::to_string(i) + "\n");
  }
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 180ms) << "other requests waited for the parked one";
  auto r = parked.readResponse(false, 3000ms);
  ASSERT_TRUE(r);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 190ms);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "parked answer");
  EXPECT_EQ(r->header("x-late"), "yes");
  // The connection stays usable (keep-alive) after a deferred answer.
  ASSERT_TRUE(parked.send(get("/after")));
  r = parked.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "GET /after\n");
  for (auto& t : completers) t.join();
}

TEST(HttpServerDeferredTest, CompletedBeforeTheHandlerReturnsIsWrittenAtOnce) {
  auto server = startServer(smallOptions(), [](const HttpRequest&) {
    auto deferred = std::make_shared<DeferredResponse>();
    HttpResponse body;
    body.status = 202;
    body.body = "early";
    deferred->complete(std::move(body));
    HttpResponse r;
    r.deferred = deferred;
    return r;
  });
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(get("/x")));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  EXPECT_EQ(r->body, "early");
}

TEST(HttpServerDeferredTest, ShutdownHasParkedRequestsAnsweredAndDoesNotHang) {
  std::mutex mu;
  std::map<std::string, std::shared_ptr<DeferredResponse>> parked;
  std::atomic<int> parkedCount{0};
  auto server = startServer(smallOptions(), [&](const HttpRequest& req) {
    auto deferred = std::make_shared<DeferredResponse>();
    const std::string path(req.path());
    if (path == "/owner-answers") {
      std::weak_ptr<DeferredResponse> weak = deferred;
      deferred->onServerShutdown([weak] {
        HttpResponse r;
        r.body = "owner says bye";
        if (auto d = weak.lock()) d->complete(std::move(r));
      });
    }
    {
      std::lock_guard lk(mu);
      parked[path] = deferred;
    }
    ++parkedCount;
    HttpResponse r;
    r.deferred = deferred;
    return r;
  });
  ASSERT_TRUE(server);
  RawClient owner(server->port()), plain(server->port());
  ASSERT_TRUE(owner.send(get("/owner-answers")));
  ASSERT_TRUE(plain.send(get("/server-answers")));
  for (int i = 0; i < 200 && parkedCount.load() < 2; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(parkedCount.load(), 2);
  auto t0 = std::chrono::steady_clock::now();
  server->shutdown(std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  auto r = owner.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "owner says bye");
  EXPECT_EQ(r->header("connection"), "close");
  r = plain.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  // Completing after the server stopped is harmless.
  std::lock_guard lk(mu);
  EXPECT_FALSE(parked["/server-answers"]->complete(HttpResponse{}));
}

TEST(HttpServerDeferredTest, OwnerThatNeverAnswersIsCutOffAfterGraceAndLateCompletionIsHarmless) {
  std::shared_ptr<DeferredResponse> kept;
  std::promise<void> arrived;
  auto server = startServer(smallOptions(), [&](const HttpRequest&) {
    kept = std::make_shared<DeferredResponse>();
    kept->onServerShutdown([] {});  // the owner is told, and ignores it
    arrived.set_value();
    HttpResponse r;
    r.deferred = kept;
    return r;
  });
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(get("/forever")));
  ASSERT_EQ(arrived.get_future().wait_for(5s), std::future_status::ready);
  auto t0 = std::chrono::steady_clock::now();
  server->shutdown(std::chrono::seconds(1));
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(c.waitForClose(1000ms));
  EXPECT_TRUE(kept->complete(HttpResponse{}));  // nobody to write it to: dropped
  server.reset();
  kept.reset();
}


// --- streamed bodies ---------------------------------------------------------

// Reads the streamed body in small pieces and answers with its size and a
// checksum, so the test sees that every byte arrived in order.
HttpResponse countingHandler(const HttpRequest& req) {
  HttpResponse r;
  if (!req.bodyStream) {
    r.status = 500;
    r.body = "not streamed";
    return r;
  }
  std::uint64_t total = 0, sum = 0;
  char buf[7000];
  for (;;) {
    auto n = req.bodyStream->read(buf, sizeof buf);
    if (!n.ok()) {
      r.status = n.error().code == ErrorCode::kPayloadTooLarge ? 413 : 400;
      r.body = n.error().message;
      return r;
    }
    if (*n == 0) break;
    for (std::size_t i = 0; i < *n; ++i) sum = sum * 31 + static_cast<unsigned char>(buf[i]);
    total += *n;
  }
  r.body = std::to_string(total) + " " + std::to_string(sum);
  return r;
}

std::string expectedCount(std::string_view data) {
  std::uint64_t sum = 0;
  for (unsigned char c : data) sum = sum * 31 + c;
  return std::to_string(data.size()) + " " + std::to_string(sum);
}

HttpServerOptions streamingOptions() {
  auto o = smallOptions();
  o.maxBodyBytes = 100;  // buffered routes stay small
  o.maxStreamBodyBytes = 4 << 20;
  o.streamBody = [](std::string_view method, std::string_view target) {
    return method != "GET" && target.rfind("/stream", 0) == 0;
  };
  return o;
}

TEST(HttpServerStreamingTest, LargeContentLengthBodyReachesTheHandlerInPieces) {
  auto server = startServer(streamingOptions(), countingHandler);
  ASSERT_TRUE(server);
  std::string data(3 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) >> 3);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(post("/stream/up", data)));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, expectedCount(data));
  // The connection stays usable for the next (buffered) request.
  ASSERT_TRUE(c.send(get("/plain")));
  r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);  // countingHandler refuses non-streamed requests: proves routing
}

TEST(HttpServerStreamingTest, ChunkedBodyIsDecoded) {
  auto server = startServer(streamingOptions(), countingHandler);
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send("PATCH /stream/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, expectedCount("hello world"));
}

TEST(HttpServerStreamingTest, StreamLimitAppliesToDeclaredAndChunkedBodies) {
  auto server = startServer(streamingOptions(), countingHandler);
  ASSERT_TRUE(server);
  RawClient declared(server->port());
  ASSERT_TRUE(declared.send("PUT /stream/x HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999\r\n\r\n"));
  auto r = declared.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);

  RawClient chunked(server->port());
  ASSERT_TRUE(chunked.send("PUT /stream/x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  std::string piece(1 << 20, 'a');
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
  for (int i = 0; i < 5; ++i)
    if (!chunked.send(std::string(size) + piece + "\r\n")) break;  // the server may close early
  r = chunked.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_TRUE(chunked.waitForClose(3000ms));
  // Buffered routes keep their own, smaller limit.
  RawClient small(server->port());
  ASSERT_TRUE(small.send(post("/plain", std::string(200, 'x'))));
  r = small.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST(HttpServerStreamingTest, HandlerThatStopsReadingClosesTheConnection) {
  auto server = startServer(streamingOptions(), [](const HttpRequest& req) {
    HttpResponse r;
    char buf[10];
    (void)req.bodyStream->read(buf, sizeof buf);  // reads a little, then answers
    r.status = 400;
    r.body = "refused";
    return r;
  });
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(post("/stream/up", std::string(200000, 'z'))));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->header("connection"), "close");
  EXPECT_TRUE(c.waitForClose(3000ms));
}

TEST(HttpServerStreamingTest, Expect100ContinueIsSentOnFirstRead) {
  std::atomic<bool> refuse{false};
  auto server = startServer(streamingOptions(), [&](const HttpRequest& req) {
    if (refuse) {
      HttpResponse r;
      r.status = 401;
      return r;
    }
    return countingHandler(req);
  });
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send("PUT /stream/x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  auto interim = c.readUntil("\r\n\r\n");
  ASSERT_TRUE(interim);
  EXPECT_EQ(*interim, "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.send("hello"));
  auto r = c.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, expectedCount("hello"));

  // A handler that refuses without reading never invites the body.
  refuse = true;
  RawClient d(server->port());
  ASSERT_TRUE(d.send("PUT /stream/x HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  r = d.readResponse();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
}

class PatternSource final : public BodySource {
 public:
  explicit PatternSource(std::uint64_t length, std::uint64_t failAfter = UINT64_MAX)
      : length_(length), failAfter_(failAfter) {}
  std::uint64_t length() const override { return length_; }
  Result<std::size_t> read(char* out, std::size_t max) override {
    if (pos_ >= failAfter_) return Error::make(ErrorCode::kIo, "disk went away");
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(max, length_ - pos_));
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (pos_ + i) % 26);
    pos_ += n;
    return n;
  }

 private:
  std::uint64_t length_, failAfter_, pos_ = 0;
};

TEST(HttpServerStreamingTest, StreamedResponseBodyAndHead) {
  auto server = startServer(smallOptions(), [](const HttpRequest& req) {
    HttpResponse r;
    r.setHeader("Content-Type", "application/octet-stream");
    r.stream = std::make_shared<PatternSource>(req.path() == "/fail" ? 5 << 20 : 3 << 20,
                                               req.path() == "/fail" ? 2 << 20 : UINT64_MAX);
    return r;
  });
  ASSERT_TRUE(server);
  RawClient c(server->port());
  ASSERT_TRUE(c.send(get("/blob")));
  auto r = c.readResponse(false, 10000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(r->body.size(), std::size_t(3 << 20));
  EXPECT_EQ(r->body[0], 'a');
  EXPECT_EQ(r->body[(3 << 20) - 1], static_cast<char>('a' + ((3 << 20) - 1) % 26));
  // Keep-alive survives a streamed response; HEAD declares the length without a body.
  ASSERT_TRUE(c.send("HEAD /blob HTTP/1.1\r\nHost: t\r\n\r\n"));
  r = c.readResponse(true);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("content-length"), std::to_string(3 << 20));
  ASSERT_TRUE(c.send(get("/blob")));
  r = c.readResponse(false, 10000ms);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.size(), std::size_t(3 << 20));

  // A source that fails mid-body: the client sees a short body and a close, never a lie.
  RawClient f(server->port());
  ASSERT_TRUE(f.send(get("/fail")));
  EXPECT_FALSE(f.readResponse(false, 5000ms));
  EXPECT_TRUE(f.waitForClose(3000ms));
}

}  // namespace
}  // namespace berth::api

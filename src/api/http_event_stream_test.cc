// HttpResponse::eventStream: chunked streaming responses (Server-Sent Events).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <csignal>
#include <deque>
#include <future>
#include <mutex>
#include <string>

#include "api/http_server.h"

namespace berth::api {
namespace {

using namespace std::chrono_literals;

class QueueSource final : public EventStreamSource {
 public:
  std::optional<std::string> next() override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 200ms, [&] { return cancelled_ || ended_ || !queue_.empty(); });
    if (cancelled_) return std::nullopt;
    if (!queue_.empty()) {
      std::string s = std::move(queue_.front());
      queue_.pop_front();
      return s;
    }
    if (ended_) return std::nullopt;
    return std::string();
  }
  void cancel() override {
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
    }
    cv_.notify_all();
  }
  void push(std::string s) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(s));
    }
    cv_.notify_all();
  }
  void end() {
    {
      std::lock_guard lock(mu_);
      ended_ = true;
    }
    cv_.notify_all();
  }
  bool waitCancelled(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return cancelled_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> queue_;
  bool ended_ = false;
  bool cancelled_ = false;
};

// Just enough of a client: connect, send, read what arrives.
class Client {
 public:
  explicit Client(std::uint16_t port) {
    std::signal(SIGPIPE, SIG_IGN);
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  }
  ~Client() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  void get(const std::string& path) {
    std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    ASSERT_EQ(::send(fd_, req.data(), req.size(), MSG_NOSIGNAL), static_cast<ssize_t>(req.size()));
  }
  // Reads until `needle` is in what was received, EOF, or the timeout.
  bool readUntil(const std::string& needle, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (received.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        eof = true;
        return received.find(needle) != std::string::npos;
      }
      received.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  bool readToEof(std::chrono::milliseconds timeout) {
    readUntil(std::string(1, '\0'), timeout);  // never in the text: reads until EOF or timeout
    return eof;
  }
  std::string received;
  bool eof = false;

 private:
  int fd_ = -1;
};

class EventStreamTest : public ::testing::Test {
 protected:
  void start(std::size_t maxStreams = 4) {
    HttpServerOptions o;
    o.workerThreads = 8;
    o.maxEventStreams = maxStreams;
    auto s = HttpServer::start(o, [this](const HttpRequest& r) {
      HttpResponse resp;
      if (r.path() == "/stream") {
        auto source = std::make_shared<QueueSource>();
        {
          std::lock_guard lock(mu_);
          sources_.push_back(source);
        }
        sourceCv_.notify_all();
        resp.eventStream = source;
        return resp;
      }
      resp.body = "plain";
      return resp;
    });
    ASSERT_TRUE(s.ok()) << s.error().message;
    server_ = std::move(*s);
  }
  std::shared_ptr<QueueSource> waitSource(std::size_t index) {
    std::unique_lock lock(mu_);
    sourceCv_.wait_for(lock, 5s, [&] { return sources_.size() > index; });
    return sources_.size() > index ? sources_[index] : nullptr;
  }

  std::mutex mu_;
  std::condition_variable sourceCv_;
  std::vector<std::shared_ptr<QueueSource>> sources_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(EventStreamTest, PiecesGoOutAsChunksUntilTheSourceEnds) {
  start();
  Client c(server_->port());
  c.get("/stream");
  auto source = waitSource(0);
  ASSERT_TRUE(source);
  ASSERT_TRUE(c.readUntil("\r\n\r\n", 5s));
  EXPECT_NE(c.received.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(c.received.find("Transfer-Encoding: chunked"), std::string::npos) << c.received;
  EXPECT_NE(c.received.find("Content-Type: text/event-stream"), std::string::npos);
  EXPECT_NE(c.received.find("Cache-Control: no-cache"), std::string::npos);
  EXPECT_EQ(c.received.find("Content-Length"), std::string::npos);
  // Each piece is delivered as it is produced, not when the stream ends.
  source->push("data: one\n\n");
  ASSERT_TRUE(c.readUntil("b\r\ndata: one\n\n\r\n", 5s)) << c.received;
  source->push("data: twenty\n\n");
  source->end();
  ASSERT_TRUE(c.readToEof(5s));
  EXPECT_NE(c.received.find("e\r\ndata: twenty\n\n\r\n0\r\n\r\n"), std::string::npos) << c.received;
}

TEST_F(EventStreamTest, ClientDisconnectCancelsTheSourceAndFreesTheSlot) {
  start(1);
  {
    Client c(server_->port());
    c.get("/stream");
    ASSERT_TRUE(c.readUntil("\r\n\r\n", 5s));
  }  // closed
  auto first = waitSource(0);
  ASSERT_TRUE(first);
  EXPECT_TRUE(first->waitCancelled(5s));
  // The single slot is free again (the worker left the stream after the cancel).
  std::this_thread::sleep_for(300ms);
  Client again(server_->port());
  again.get("/stream");
  ASSERT_TRUE(again.readUntil("\r\n\r\n", 5s));
  EXPECT_NE(again.received.find("HTTP/1.1 200"), std::string::npos) << again.received;
}

TEST_F(EventStreamTest, StreamsOverTheBoundGet503AndOtherRequestsStillWork) {
  start(1);
  Client open(server_->port());
  open.get("/stream");
  ASSERT_TRUE(open.readUntil("\r\n\r\n", 5s));
  Client refused(server_->port());
  refused.get("/stream");
  ASSERT_TRUE(refused.readToEof(5s));
  EXPECT_NE(refused.received.find("HTTP/1.1 503"), std::string::npos) << refused.received;
  EXPECT_NE(refused.received.find("too many event streams"), std::string::npos);
  Client plain(server_->port());
  plain.get("/plain");
  ASSERT_TRUE(plain.readUntil("plain", 5s));
}

TEST_F(EventStreamTest, ShutdownEndsOpenStreamsPromptly) {
  start();
  Client c(server_->port());
  c.get("/stream");
  ASSERT_TRUE(c.readUntil("\r\n\r\n", 5s));
  auto source = waitSource(0);
  ASSERT_TRUE(source);
  auto began = std::chrono::steady_clock::now();
  server_->shutdown(std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
  EXPECT_TRUE(source->waitCancelled(0ms));
  EXPECT_TRUE(c.readToEof(5s));
}

}  // namespace
}  // namespace berth::api

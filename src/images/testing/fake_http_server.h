#pragma once
// Test helper: a tiny threaded HTTP/1.1 server on 127.0.0.1:<ephemeral> that
// answers each request with a handler (one request per connection). Used to
// fake registry behaviours the real test registry cannot produce (Bearer token
// service, cross-host redirects, lying about digests). Header-only test code.
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::images::testing {

struct FakeRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // lowercase names
  std::string body;
  std::string header(const std::string& k) const {
    auto it = headers.find(k);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct FakeResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

class FakeHttpServer {
 public:
  using Handler = std::function<FakeResponse(const FakeRequest&)>;

  explicit FakeHttpServer(Handler handler) : handler_(std::move(handler)), acceptor_(ioc_) {
    namespace net = boost::asio;
    net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(net::socket_base::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { run(); });
  }

  ~FakeHttpServer() {
    stop_ = true;
    // Wake the blocking accept with a throwaway connection.
    boost::system::error_code ec;
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::socket s(ioc);
    s.connect({boost::asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }

  unsigned short port() const { return port_; }
  std::vector<FakeRequest> requests() {
    std::lock_guard<std::mutex> l(mu_);
    return log_;
  }

 private:
  void run() {
    namespace http = boost::beast::http;
    while (!stop_) {
      boost::system::error_code ec;
      boost::asio::ip::tcp::socket sock(ioc_);
      acceptor_.accept(sock, ec);
      if (ec || stop_) continue;
      boost::beast::flat_buffer buf;
      http::request<http::string_body> req;
      http::read(sock, buf, req, ec);
      if (ec) continue;
      FakeRequest fr;
      fr.method = std::string(req.method_string());
      fr.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        fr.headers[name] = std::string(f.value());
      }
      fr.body = req.body();
      {
        std::lock_guard<std::mutex> l(mu_);
        log_.push_back(fr);
      }
      FakeResponse out = handler_(fr);
      http::response<http::string_body> resp{static_cast<http::status>(out.status), 11};
      for (const auto& [k, v] : out.headers) resp.set(k, v);
      resp.set(http::field::connection, "close");
      resp.body() = out.body;
      resp.prepare_payload();
      http::write(sock, resp, ec);
      sock.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    }
  }

  Handler handler_;
  boost::asio::io_context ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<FakeRequest> log_;
};

}  // namespace berth::images::testing

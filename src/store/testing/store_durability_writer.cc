// Child process of store_durability_test. Writes txns from several threads
// until it is SIGKILLed; each txn puts a/<n> and b/<n> (value <n>) and, once
// txn() has returned (= durable), writes "<n>\n" to stdout with write(2), so
// the parent knows exactly which txns were acknowledged before the kill.
//
// usage: store_durability_writer <db path> <first n> <threads>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite_store.h"

namespace {

bool writeAll(int fd, const std::string& s) {
  std::size_t off = 0;
  while (off < s.size()) {
    ssize_t n = ::write(fd, s.data() + off, s.size() - off);
    if (n < 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <db path> <first n> <threads>\n", argv[0]);
    return 64;
  }
  auto opened = berth::store::openSqliteStore(argv[1]);
  if (!opened.ok()) {
    std::fprintf(stderr, "writer: open failed: %s\n", opened.error().message.c_str());
    return 1;
  }
  auto store = std::move(opened).value();
  std::atomic<long long> next{std::atoll(argv[2])};
  const int threads = std::atoi(argv[3]);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (;;) {
        const std::string n = std::to_string(next.fetch_add(1));
        berth::store::TxnRequest req;
        req.compares = {{"a/" + n, 0}, {"b/" + n, 0}};
        req.ops = {berth::store::Op::put("a/" + n, n), berth::store::Op::put("b/" + n, n)};
        auto r = store->txn(req);
        if (!r.ok() || !r->succeeded) {
          std::fprintf(stderr, "writer: txn %s failed: %s\n", n.c_str(),
                       r.ok() ? "compare failed" : r.error().message.c_str());
          std::_Exit(2);
        }
        // Lines are short (< PIPE_BUF), so concurrent write(2)s never interleave.
        if (!writeAll(STDOUT_FILENO, n + "\n")) std::_Exit(3);
      }
    });
  }
  for (auto& w : workers) w.join();
  return 0;
}

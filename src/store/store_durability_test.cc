// Crash test: a child process writes two-key txns as fast as it can and reports
// each acknowledged one on a pipe; we SIGKILL it mid-stream, reopen the file and
// check that every acknowledged txn survived whole and nothing is torn. Several
// rounds continue on the same file, so recovery of a killed WAL is exercised
// repeatedly.
//
// SIGKILL loses the process, not the page cache, so this proves "acknowledged
// means committed" and crash atomicity; it does not simulate power loss.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>
#include <string>

#include "store/sqlite_store.h"

extern char** environ;

namespace berth::store {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int kRounds = 3;
constexpr std::size_t kAcksPerRound = 2000;
constexpr auto kRoundTime = std::chrono::seconds(2);
constexpr const char* kWriterThreads = "8";

struct Round {
  std::set<long long> acked;
  int waitStatus = 0;
};

// Runs the writer until it has acknowledged kAcksPerRound txns or kRoundTime
// passed, kills it, and returns every n it acknowledged (including those still
// in the pipe when it died).
Round runWriter(const std::string& dbPath, long long firstN) {
  Round round;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    ADD_FAILURE() << "pipe2 failed";
    return round;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);  // dup2 clears CLOEXEC
  std::string first = std::to_string(firstN);
  std::string exe = BERTH_STORE_DURABILITY_WRITER;
  char* argv[] = {exe.data(), const_cast<char*>(dbPath.c_str()), first.data(), const_cast<char*>(kWriterThreads),
                  nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    ADD_FAILURE() << "posix_spawn " << exe << " failed: " << rc;
    return round;
  }

  std::string buffer;
  auto consume = [&](const char* data, ssize_t n) {
    buffer.append(data, static_cast<std::size_t>(n));
    std::size_t start = 0, nl;
    while ((nl = buffer.find('\n', start)) != std::string::npos) {
      round.acked.insert(std::stoll(buffer.substr(start, nl - start)));
      start = nl + 1;
    }
    buffer.erase(0, start);
  };
  char chunk[4096];
  const auto deadline = Clock::now() + kRoundTime;
  bool eof = false;
  while (!eof && round.acked.size() < kAcksPerRound && Clock::now() < deadline) {
    pollfd p{fds[0], POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (::poll(&p, 1, std::max(left, 1)) <= 0) continue;
    ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n <= 0) eof = true;  // the writer died on its own: reported below
    else consume(chunk, n);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, &round.waitStatus, 0);
  // Acks written before the kill are still in the pipe; they count too.
  for (ssize_t n; (n = ::read(fds[0], chunk, sizeof chunk)) > 0;) consume(chunk, n);
  ::close(fds[0]);
  EXPECT_TRUE(buffer.empty()) << "partial ack line: " << buffer;  // write(2) of a short line is atomic
  return round;
}

void expectIntegrity(const std::string& path) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "ok");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

TEST(StoreDurability, AcknowledgedTxnsSurviveSigkillAndNoneAreTorn) {
  std::string tmpl = (fs::path(::testing::TempDir()) / "berth-durability-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  const std::string dbPath = (dir / "state.db").string();

  std::set<long long> allAcked;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Round r = runWriter(dbPath, static_cast<long long>(round) * 1'000'000'000LL);
    ASSERT_TRUE(WIFSIGNALED(r.waitStatus) && WTERMSIG(r.waitStatus) == SIGKILL)
        << "writer ended on its own (status " << r.waitStatus << "); see its stderr above";
    ASSERT_GT(r.acked.size(), 0u) << "writer acknowledged nothing";
    allAcked.insert(r.acked.begin(), r.acked.end());

    auto opened = SqliteStore::open(dbPath);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    auto& store = *opened;
    auto a = store->range("a/");
    auto b = store->range("b/");
    ASSERT_TRUE(a.ok() && b.ok());

    // No torn txn: a/n and b/n exist together, with the same value and revision.
    std::map<std::string, KeyValue> bByN;
    for (auto& kv : *b) bByN[kv.key.substr(2)] = kv;
    ASSERT_EQ(a->size(), b->size());
    std::set<std::int64_t> revisions;
    for (const KeyValue& kv : *a) {
      const std::string n = kv.key.substr(2);
      auto it = bByN.find(n);
      ASSERT_NE(it, bByN.end()) << "a/" << n << " without b/" << n;
      EXPECT_EQ(kv.value, n);
      EXPECT_EQ(it->second.value, n);
      EXPECT_EQ(kv.modRevision, it->second.modRevision);
      EXPECT_EQ(kv.createRevision, kv.modRevision);
      revisions.insert(kv.modRevision);
    }
    // Every acknowledged txn is there.
    std::size_t missing = 0;
    for (long long n : allAcked) {
      if (!bByN.count(std::to_string(n))) ++missing;
    }
    EXPECT_EQ(missing, 0u) << "of " << allAcked.size() << " acknowledged txns";
    // One revision per committed txn, dense, and the stored revision agrees.
    const auto rev = store->currentRevision();
    EXPECT_EQ(static_cast<std::int64_t>(a->size()), rev);
    ASSERT_EQ(revisions.size(), a->size());
    if (!revisions.empty()) {
      EXPECT_EQ(*revisions.begin(), 1);
      EXPECT_EQ(*revisions.rbegin(), rev);
    }
    // Unacknowledged txns may have committed (killed between commit and ack),
    // but only a few: at most one in-flight txn per writer thread.
    EXPECT_LE(a->size(), allAcked.size() + static_cast<std::size_t>(kRounds * std::stoi(kWriterThreads)));
    store->close();
    expectIntegrity(dbPath);
    std::printf("round %d: %zu acked this round, %zu rows, revision %lld\n", round, r.acked.size(), a->size(),
                static_cast<long long>(rev));
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace berth::store

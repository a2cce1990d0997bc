// Store write throughput against an on-disk file (never :memory:; fsync cost is
// the point):
//   BM_StoreTxn/groupCommit:{1,0}/threads:N  txn() from N concurrent writers
//   BM_RawSqliteInsert/rowsPerTxn:{1,1000}  the ceiling: plain INSERTs with the
//                                            store's pragmas, no store logic
// items/s = committed txns (or rows) per second of wall time.
// Temp files go under $BERTH_BENCH_DIR, else the system temp dir.
#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "store/sqlite_store.h"

namespace {

namespace fs = std::filesystem;
using berth::store::Op;
using berth::store::SqliteStore;

const std::string kValue(200, 'v');  // about the size of a small task record

fs::path benchDir() {
  static const fs::path dir = [] {
    const char* base = std::getenv("BERTH_BENCH_DIR");
    std::string tmpl = (fs::path(base ? base : fs::temp_directory_path().string()) / "berth-bench-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    return fs::path(tmpl);
  }();
  return dir;
}

void removeDb(const fs::path& db) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-lock"}) fs::remove(db.string() + suffix, ec);
}

// ---- the store ----------------------------------------------------------------

std::unique_ptr<SqliteStore> g_store;  // shared by the benchmark's threads
std::atomic<long long> g_nextKey{0};

void openStore(const benchmark::State& state) {
  fs::path db = benchDir() / "store.db";
  removeDb(db);
  auto r = SqliteStore::open(db.string(), {.groupCommit = state.range(0) != 0});
  if (!r.ok()) {
    std::fprintf(stderr, "open failed: %s\n", r.error().message.c_str());
    std::exit(1);
  }
  g_store = std::move(r).value();
}

void closeStore(const benchmark::State&) {
  g_store->close();
  g_store.reset();
  removeDb(benchDir() / "store.db");
}

void BM_StoreTxn(benchmark::State& state) {
  const auto before = g_store->stats();
  for (auto _ : state) {
    // A create-if-absent put, the common shape of an API write.
    const std::string key = "tasks/" + std::to_string(g_nextKey.fetch_add(1));
    auto r = g_store->txn({{{key, 0}}, {Op::put(key, kValue)}});
    if (!r.ok() || !r->succeeded) {
      state.SkipWithError("txn failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    // Approximate under concurrency (other threads may still be finishing),
    // but shows how many txns shared each fsync.
    const auto after = g_store->stats();
    const double commits = static_cast<double>(after.commits - before.commits);
    state.counters["txnsPerCommit"] = commits > 0 ? static_cast<double>(after.txns - before.txns) / commits : 0;
  }
}
BENCHMARK(BM_StoreTxn)
    ->ArgName("groupCommit")
    ->Arg(1)
    ->Arg(0)
    ->Threads(1)
    ->Threads(8)
    ->Threads(32)
    ->Threads(64)
    ->Setup(openStore)
    ->Teardown(closeStore)
    ->MinTime(1.0)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// ---- raw SQLite ceiling ---------------------------------------------------------

void check(int rc, sqlite3* db, const char* what, benchmark::State& state) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::string msg = std::string(what) + ": " + sqlite3_errmsg(db);
    state.SkipWithError(msg.c_str());
  }
}

void BM_RawSqliteInsert(benchmark::State& state) {
  const int rowsPerTxn = static_cast<int>(state.range(0));
  fs::path path = benchDir() / "raw.db";
  removeDb(path);
  sqlite3* db = nullptr;
  check(sqlite3_open(path.c_str(), &db), db, "open", state);
  check(sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;"
                     "CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB NOT NULL);",
                     nullptr, nullptr, nullptr),
        db, "setup", state);
  sqlite3_stmt* insert = nullptr;
  check(sqlite3_prepare_v2(db, "INSERT INTO kv (key, value) VALUES (?1, ?2)", -1, &insert, nullptr), db, "prepare",
        state);
  long long next = 0;
  for (auto _ : state) {
    check(sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr), db, "begin", state);
    for (int i = 0; i < rowsPerTxn; ++i) {
      const std::string key = "tasks/" + std::to_string(next++);
      sqlite3_bind_blob(insert, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
      sqlite3_bind_blob(insert, 2, kValue.data(), static_cast<int>(kValue.size()), SQLITE_STATIC);
      check(sqlite3_step(insert), db, "insert", state);
      sqlite3_reset(insert);
    }
    check(sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr), db, "commit", state);
  }
  state.SetItemsProcessed(state.iterations() * rowsPerTxn);
  sqlite3_finalize(insert);
  sqlite3_close(db);
  removeDb(path);
}
BENCHMARK(BM_RawSqliteInsert)->ArgName("rowsPerTxn")->Arg(1)->Arg(1000)->MinTime(1.0)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  fs::remove_all(benchDir(), ec);
  return 0;
}

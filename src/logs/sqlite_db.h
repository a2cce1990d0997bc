#pragma once
// A minimal SQLite connection + prepared statement wrapper for the log store
// (one connection, used under the store's mutex).
#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::logs {

class Statement {
 public:
  Statement() = default;
  Statement(sqlite3* db, std::string_view sql);
  ~Statement();
  Statement(Statement&& o) noexcept : stmt_(o.stmt_), error_(std::move(o.error_)) { o.stmt_ = nullptr; }
  Statement& operator=(Statement&& o) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool valid() const { return stmt_ != nullptr; }
  const std::string& prepareError() const { return error_; }

  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view value);  // the view must outlive step()
  Statement& bindNull(int index);
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  void reset();  // ready for re-use (bindings cleared)

  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool isNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string_view text(int col) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  std::string error_;
};

class SqliteDb {
 public:
  static Result<SqliteDb> open(const std::string& path);
  SqliteDb() = default;
  ~SqliteDb();
  SqliteDb(SqliteDb&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  SqliteDb& operator=(SqliteDb&& o) noexcept;

  sqlite3* get() const { return db_; }
  Status exec(const char* sql);
  Statement prepare(std::string_view sql) const { return Statement(db_, sql); }
  Error error(std::string_view what) const;  // kIo with SQLite's message
  void close();

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace berth::logs

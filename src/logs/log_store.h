#pragma once
// The CloudWatch Logs-compatible store: log groups, log streams and their
// events in one SQLite database (WAL, synchronous=FULL), so an acknowledged
// PutLogEvents survives a crash. Each operation takes and returns the
// operation's JSON request/response shape (the Logs_20140328 model), after the
// api layer has checked the request against the model; the rules the model
// cannot express (chronological batches, size limits, time windows, names,
// retention values) are enforced here with AWS's messages.
//
// Errors: kNotFound (ResourceNotFoundException), kAlreadyExists
// (ResourceAlreadyExistsException), kInvalidParameter (InvalidParameterException).
//
// Thread-safe: one connection behind a mutex. A PutLogEvents batch (up to
// 10,000 events) is one transaction with one fsync, which is what lets the
// store keep up with chatty containers.
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "common/clock.h"
#include "common/result.h"

namespace berth::logs {

struct LogStoreOptions {
  std::string accountId = "000000000000";
  std::string region = "us-east-1";
};

class LogStore {
 public:
  // Opens (creating if needed) the database at `path`; its directory must exist.
  static Result<std::unique_ptr<LogStore>> open(const std::string& path, const Clock& clock,
                                                LogStoreOptions options = {});
  ~LogStore();
  LogStore(const LogStore&) = delete;
  LogStore& operator=(const LogStore&) = delete;

  Result<nlohmann::json> createLogGroup(const nlohmann::json& request);
  Result<nlohmann::json> deleteLogGroup(const nlohmann::json& request);
  Result<nlohmann::json> describeLogGroups(const nlohmann::json& request);
  Result<nlohmann::json> createLogStream(const nlohmann::json& request);
  Result<nlohmann::json> deleteLogStream(const nlohmann::json& request);
  Result<nlohmann::json> describeLogStreams(const nlohmann::json& request);
  Result<nlohmann::json> putLogEvents(const nlohmann::json& request);
  Result<nlohmann::json> getLogEvents(const nlohmann::json& request);
  Result<nlohmann::json> filterLogEvents(const nlohmann::json& request);
  Result<nlohmann::json> putRetentionPolicy(const nlohmann::json& request);
  Result<nlohmann::json> deleteRetentionPolicy(const nlohmann::json& request);

  // Deletes the events older than their group's retention at `now`; returns
  // how many were deleted. The server runs it periodically.
  Result<std::int64_t> enforceRetention(std::chrono::system_clock::time_point now);

  // Closes the database (idempotent); later calls fail with kUnavailable.
  void close();

 private:
  struct Impl;
  explicit LogStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::logs

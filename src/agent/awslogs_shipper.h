#pragma once
// The awslogs log driver, agent side: one follower thread per container reads
// conmon's k8s-file log and ships its lines to the server's CloudWatch Logs
// API (CreateLogGroup when asked, CreateLogStream, then PutLogEvents batches).
//
// - Partial records (P) are joined with the following ones into one event;
//   the event's timestamp is its first record's time (ms).
// - Batches respect PutLogEvents' limits (10,000 events, 1 MiB counting 26
//   bytes per event, 24 h span, chronological) and go out when full or
//   `flushInterval` after their first event.
// - A durable resume offset ("<log>.awslogs-offset", written after each
//   acknowledged batch) makes an agent restart neither lose nor repeat lines.
// - While the server is unreachable the batch is retried with backoff; the
//   container never waits for us (we read its file), so awslogs' blocking and
//   non-blocking modes behave the same here.
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "agent/server_client.h"
#include "agent/task_hooks.h"
#include "common/clock.h"

namespace berth::agent {

// The shipper's view of the Logs API (a fake in tests).
class LogsClient {
 public:
  virtual ~LogsClient() = default;
  // On an AWS error the Error's context holds the exception name
  // ("ResourceNotFoundException"); transport failures are kUnavailable.
  virtual Result<nlohmann::json> call(std::string_view operation, const nlohmann::json& body) = 0;
};

// LogsClient over the agent's ServerClient (Logs_20140328, signed as "logs").
class ServerLogsClient final : public LogsClient {
 public:
  explicit ServerLogsClient(ServerClient& client) : client_(client) {}
  Result<nlohmann::json> call(std::string_view operation, const nlohmann::json& body) override {
    return client_.call(kLogsTarget, operation, body, std::chrono::seconds(15));
  }

 private:
  ServerClient& client_;
};

struct AwsLogsShipperOptions {
  std::chrono::milliseconds flushInterval{200};
  std::chrono::milliseconds pollInterval{100};   // how often a quiet file is checked
  std::chrono::milliseconds initialBackoff{200};
  std::chrono::milliseconds maxBackoff{5000};
  std::chrono::milliseconds drainTimeout{10000};  // detach's bound
};

// The resume offset file kept beside a container's log.
std::string awslogsOffsetPath(const std::string& logPath);

class AwsLogsShipper final : public LogShipping {
 public:
  AwsLogsShipper(LogsClient& client, const Clock& clock, AwsLogsShipperOptions options = {});
  // Stops every follower without draining (the agent is going away; the
  // offsets let the next agent resume).
  ~AwsLogsShipper() override;

  Status attach(const std::string& runtimeId, const std::string& logPath, const AwsLogsTarget& target) override;
  void detach(const std::string& runtimeId) override;

 private:
  class Follower;
  LogsClient& client_;
  const Clock& clock_;
  AwsLogsShipperOptions options_;
  std::mutex mu_;
  std::unordered_map<std::string, std::unique_ptr<Follower>> followers_;
};

}  // namespace berth::agent

#pragma once
// `berth events`: prints the server's ECS events (EventBridge envelopes), one
// JSON object per line, from GET /berth/events; with --follow, keeps printing
// new ones from the SSE stream /berth/events/stream until SIGINT/SIGTERM
// (exit status 0), reconnecting with Last-Event-ID if the connection drops.
#include <cstdint>
#include <string>

namespace berth::cmd {

struct EventsConfig {
  std::string server = "http://127.0.0.1:8080";
  std::string cluster;     // name or ARN; empty = all
  std::string detailType;  // e.g. "ECS Task State Change"; empty = all
  std::string since;       // sequence number; empty = 0, or the newest with --follow
  bool follow = false;
  std::string region;      // empty = AWS_REGION / AWS_DEFAULT_REGION / us-east-1
  std::string dataDir;     // read the server's bootstrap credentials from DIR/credentials
};

// Returns the process exit code.
int runEvents(const EventsConfig& config);

}  // namespace berth::cmd

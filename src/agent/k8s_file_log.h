#pragma once
// conmon's k8s-file log format, as the awslogs shipper reads it:
//   "<RFC3339Nano time> stdout|stderr F|P <text>\n"
// P marks a partial line (the container wrote more than conmon's buffer, or
// no newline yet) that continues in the next record(s); F ends a line.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::agent {

struct K8sLogRecord {
  std::int64_t timestampMs = 0;
  std::string_view stream;  // "stdout" | "stderr"
  bool partial = false;     // P
  std::string_view text;    // without the trailing newline
};

// `line` without its '\n'. nullopt when it is not in the k8s-file format.
std::optional<K8sLogRecord> parseK8sLogLine(std::string_view line);

// Milliseconds since the epoch of an RFC 3339 time ("2024-05-01T10:00:00.123456789Z"
// or with a "+02:00" offset).
std::optional<std::int64_t> parseRfc3339Ms(std::string_view text);

// Replaces invalid UTF-8 with U+FFFD, so the text can travel in JSON.
std::string sanitizeUtf8(std::string_view text);

// Splits `text` into pieces of at most `maxBytes` bytes without cutting a
// UTF-8 sequence (PutLogEvents caps one event's size).
std::vector<std::string> splitUtf8(const std::string& text, std::size_t maxBytes);

}  // namespace berth::agent

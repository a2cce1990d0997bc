#include "logs/event_cursor.h"

#include <cstdio>

namespace berth::logs {

namespace {
constexpr std::size_t kIdDigits = 19;
}

std::string formatCursorToken(char kind, const EventCursor& cursor) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%c/%013lld%019lld", kind, static_cast<long long>(cursor.timestamp),
                static_cast<long long>(cursor.id));
  return buf;
}

std::optional<EventCursor> parseCursorToken(std::string_view token, char kind) {
  if (token.size() < 2 + kIdDigits + 1 || token.size() > 2 + kIdDigits + 18 || token[0] != kind || token[1] != '/')
    return std::nullopt;
  std::string_view digits = token.substr(2);
  for (char c : digits)
    if (c < '0' || c > '9') return std::nullopt;
  EventCursor out;
  std::string_view ts = digits.substr(0, digits.size() - kIdDigits);
  std::string_view id = digits.substr(digits.size() - kIdDigits);
  for (char c : ts) out.timestamp = out.timestamp * 10 + (c - '0');
  for (char c : id) {
    if (out.id > (INT64_MAX - (c - '0')) / 10) return std::nullopt;
    out.id = out.id * 10 + (c - '0');
  }
  return out;
}

}  // namespace berth::logs

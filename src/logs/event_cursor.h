#pragma once
// A position in the (timestamp, event id) order of a stream's or a group's
// events, and its token spellings. GetLogEvents hands out "f/<digits>" and
// "b/<digits>" like AWS (clients only compare tokens for equality: the CLI and
// SDK paginators stop when the same token comes back); FilterLogEvents'
// nextToken is "c/<digits>". The digits are the timestamp (13, zero-padded)
// followed by the event id (19, zero-padded), so tokens sort like positions.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace berth::logs {

struct EventCursor {
  std::int64_t timestamp = 0;
  std::int64_t id = 0;  // 0 = before every event with this timestamp
};

std::string formatCursorToken(char kind, const EventCursor& cursor);  // kind 'f', 'b' or 'c'
// nullopt when `token` is not "<kind>/<digits>" of the expected kind.
std::optional<EventCursor> parseCursorToken(std::string_view token, char kind);

}  // namespace berth::logs

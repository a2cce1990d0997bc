#include "logs/filter_pattern.h"

namespace berth::logs {
namespace {

Error invalid(std::string why) {
  return Error::make(ErrorCode::kInvalidParameter, "Invalid filter pattern: " + why);
}

}  // namespace

Result<FilterPattern> FilterPattern::parse(std::string_view p) {
  FilterPattern out;
  std::size_t i = 0;
  auto skipSpace = [&] {
    while (i < p.size() && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')) ++i;
  };
  skipSpace();
  if (i < p.size() && (p[i] == '{' || p[i] == '['))
    return invalid("JSON and space-delimited patterns are not supported by Berth; use terms, \"phrases\", ?alternatives "
                   "and -exclusions");
  while (true) {
    skipSpace();
    if (i >= p.size()) break;
    char kind = 0;
    if (p[i] == '?' || p[i] == '-') kind = p[i++];
    std::string term;
    if (i < p.size() && p[i] == '"') {
      ++i;
      bool closed = false;
      while (i < p.size()) {
        char c = p[i++];
        if (c == '\\' && i < p.size()) {
          term += p[i++];
        } else if (c == '"') {
          closed = true;
          break;
        } else {
          term += c;
        }
      }
      if (!closed) return invalid("unterminated quoted phrase");
    } else {
      while (i < p.size() && p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') term += p[i++];
    }
    if (term.empty()) {
      if (kind == 0) continue;  // "" matches everything: it adds nothing
      return invalid(std::string("'") + kind + "' must be followed by a term");
    }
    if (kind == '?') out.anyOf_.push_back(std::move(term));
    else if (kind == '-') out.excluded_.push_back(std::move(term));
    else out.required_.push_back(std::move(term));
  }
  return out;
}

bool FilterPattern::matches(std::string_view message) const {
  for (const auto& t : required_)
    if (message.find(t) == std::string_view::npos) return false;
  for (const auto& t : excluded_)
    if (message.find(t) != std::string_view::npos) return false;
  if (anyOf_.empty()) return true;
  for (const auto& t : anyOf_)
    if (message.find(t) != std::string_view::npos) return true;
  return false;
}

}  // namespace berth::logs

#include "scheduler/query_values.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>

namespace berth::scheduler {
namespace {

// Characters that make a regex more than literal text.
bool isRegexMeta(char c) { return std::strchr(".[]{}()*+?^$|\\", c) != nullptr; }

bool isDigit(char c) { return c >= '0' && c <= '9'; }

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
long long daysFromCivil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

// Reads exactly `n` digits at `pos`.
std::optional<int> fixedDigits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!isDigit(s[pos + i])) return std::nullopt;
    v = v * 10 + (s[pos + i] - '0');
  }
  pos += n;
  return v;
}

bool expect(std::string_view s, std::size_t& pos, char c) {
  if (pos >= s.size() || s[pos] != c) return false;
  ++pos;
  return true;
}

}  // namespace

StringPattern StringPattern::wildcard(std::string_view text) {
  StringPattern p;
  std::string piece;
  bool sawStar = false;
  for (char c : text) {
    if (c != '*') {
      piece.push_back(c);
      continue;
    }
    if (!sawStar && p.pieces_.empty() && piece.empty()) p.anyPrefix_ = true;
    if (!piece.empty()) p.pieces_.push_back(std::move(piece));
    piece.clear();
    sawStar = true;
  }
  if (!piece.empty() || p.pieces_.empty()) p.pieces_.push_back(std::move(piece));
  p.anySuffix_ = !text.empty() && text.back() == '*';
  return p;
}

Result<StringPattern> StringPattern::regex(std::string_view text) {
  // Fast path: literals (letters, digits, escaped punctuation) and ".*", with
  // an optional ^ and $ (redundant: the whole value must match anyway).
  std::string_view body = text;
  if (!body.empty() && body.front() == '^') body.remove_prefix(1);
  if (!body.empty() && body.back() == '$' && (body.size() < 2 || body[body.size() - 2] != '\\')) body.remove_suffix(1);
  std::string glob;
  bool simple = true;
  for (std::size_t i = 0; i < body.size() && simple; ++i) {
    char c = body[i];
    if (c == '.' && i + 1 < body.size() && body[i + 1] == '*') {
      glob.push_back('*');
      ++i;
    } else if (c == '\\' && i + 1 < body.size() && !std::isalnum(static_cast<unsigned char>(body[i + 1]))) {
      glob.push_back(body[++i]);  // "\." is a literal dot
      if (glob.back() == '*') simple = false;  // a literal star can't be told from the wildcard
    } else if (isRegexMeta(c)) {
      simple = false;
    } else {
      glob.push_back(c);
    }
  }
  if (simple) return wildcard(glob);

  StringPattern p;
  try {
    p.regex_ = std::make_shared<const std::regex>(std::string(text), std::regex::ECMAScript | std::regex::optimize);
  } catch (const std::regex_error& e) {
    return Error::make(ErrorCode::kInvalidParameter,
                       "the regular expression '" + std::string(text) + "' is not valid (" + e.what() + ")");
  }
  return p;
}

bool StringPattern::matches(std::string_view value) const {
  if (regex_) return std::regex_match(value.begin(), value.end(), *regex_);
  if (isLiteral()) return value == pieces_.front();
  // Glob: the first piece anchors at the start unless a leading `*`, the last
  // at the end unless a trailing `*`; the middle ones match leftmost-first,
  // which is optimal for `*`-only patterns.
  std::size_t pos = 0;
  std::size_t first = 0, last = pieces_.size();
  if (!anyPrefix_) {
    if (!value.starts_with(pieces_.front())) return false;
    pos = pieces_.front().size();
    first = 1;
  }
  std::size_t end = value.size();
  if (!anySuffix_ && last > first) {
    const std::string& tail = pieces_.back();
    if (tail.size() > end - pos || !value.ends_with(tail)) return false;
    end -= tail.size();
    --last;
  }
  for (std::size_t i = first; i < last; ++i) {
    std::size_t at = value.substr(0, end).find(pieces_[i], pos);
    if (at == std::string_view::npos) return false;
    pos = at + pieces_[i].size();
  }
  return pos <= end;
}

std::optional<AgentVersion> AgentVersion::parse(std::string_view text) {
  if (!text.empty() && (text.front() == 'v' || text.front() == 'V')) text.remove_prefix(1);
  if (text.empty() || !isDigit(text.front())) return std::nullopt;
  AgentVersion v;
  std::size_t pos = 0;
  for (std::size_t part = 0; part < v.parts.size(); ++part) {
    if (pos >= text.size() || !isDigit(text[pos])) break;
    auto [next, ec] = std::from_chars(text.data() + pos, text.data() + text.size(), v.parts[part]);
    if (ec != std::errc()) return std::nullopt;
    pos = static_cast<std::size_t>(next - text.data());
    if (pos >= text.size() || text[pos] != '.') break;
    ++pos;
  }
  return v;
}

int AgentVersion::compare(const AgentVersion& other) const {
  for (std::size_t i = 0; i < parts.size(); ++i)
    if (parts[i] != other.parts[i]) return parts[i] < other.parts[i] ? -1 : 1;
  return 0;
}

std::optional<double> parseQueryDate(std::string_view s) {
  std::size_t pos = 0;
  auto year = fixedDigits(s, pos, 4);
  if (!year || !expect(s, pos, '-')) return std::nullopt;
  auto month = fixedDigits(s, pos, 2);
  if (!month || !expect(s, pos, '-')) return std::nullopt;
  auto day = fixedDigits(s, pos, 2);
  if (!day || *month < 1 || *month > 12 || *day < 1 || *day > 31) return std::nullopt;
  double seconds = static_cast<double>(daysFromCivil(*year, static_cast<unsigned>(*month), static_cast<unsigned>(*day))) * 86400;
  if (pos == s.size()) return seconds;
  if (!expect(s, pos, 'T')) return std::nullopt;
  auto hour = fixedDigits(s, pos, 2);
  if (!hour || !expect(s, pos, ':')) return std::nullopt;
  auto minute = fixedDigits(s, pos, 2);
  if (!minute || !expect(s, pos, ':')) return std::nullopt;
  auto second = fixedDigits(s, pos, 2);
  if (!second || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  seconds += *hour * 3600 + *minute * 60 + *second;
  if (pos < s.size() && s[pos] == '.') {
    double scale = 0.1;
    ++pos;
    if (pos >= s.size() || !isDigit(s[pos])) return std::nullopt;
    while (pos < s.size() && isDigit(s[pos])) {
      seconds += (s[pos++] - '0') * scale;
      scale /= 10;
    }
  }
  if (pos == s.size()) return seconds;  // no zone: UTC
  if (s[pos] == 'Z' && pos + 1 == s.size()) return seconds;
  if (s[pos] != '+' && s[pos] != '-') return std::nullopt;
  const int sign = s[pos++] == '+' ? 1 : -1;
  auto offHour = fixedDigits(s, pos, 2);
  if (!offHour) return std::nullopt;
  expect(s, pos, ':');
  auto offMinute = fixedDigits(s, pos, 2);
  if (!offMinute || pos != s.size() || *offHour > 23 || *offMinute > 59) return std::nullopt;
  // Local time = UTC + offset, so UTC = local - offset.
  return seconds - sign * (*offHour * 3600 + *offMinute * 60);
}

std::optional<double> parseNumber(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '+') text.remove_prefix(1);
  double v = 0;
  auto [next, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || next != text.data() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace berth::scheduler

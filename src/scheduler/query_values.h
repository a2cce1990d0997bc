#pragma once
// Value matching for the cluster query language (query_language.h): string
// patterns compiled once at parse time, agent versions and registeredAt dates.
// Placement evaluates expressions on every instance of a cluster (10,000), so
// matching a value allocates nothing and avoids std::regex whenever the
// pattern is only literals and wildcards.
#include <array>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::scheduler {

// A compiled string pattern: exact text, a glob of literal pieces separated by
// "any sequence" (`*` in ==/in arguments, `.*` in a regex), or a full regex.
class StringPattern {
 public:
  // `*` is the only wildcard; everything else is literal.
  static StringPattern wildcard(std::string_view text);
  // Java-style regex (java.util.regex.Pattern#matches: the whole value must
  // match), run with std::regex ECMAScript. Patterns made of literals and `.*`
  // (e.g. `t2.*`, `^i-0ab.*$`) become globs. Error: the pattern does not compile.
  static Result<StringPattern> regex(std::string_view text);

  bool matches(std::string_view value) const;
  // True when the pattern is a plain literal (no wildcard, no regex).
  bool isLiteral() const { return !regex_ && pieces_.size() == 1 && !anyPrefix_ && !anySuffix_; }
  const std::string& literal() const { return pieces_.front(); }

 private:
  // value = [any] pieces_[0] any pieces_[1] any ... pieces_[n-1] [any]
  std::vector<std::string> pieces_;
  bool anyPrefix_ = false;
  bool anySuffix_ = false;
  std::shared_ptr<const std::regex> regex_;  // set only when the pattern needs a real regex
};

// An agent version, "semver-ish": up to four numeric components; a leading
// "v" and anything after the numbers ("-rc1", "+abc") are ignored.
struct AgentVersion {
  std::array<long long, 4> parts{};
  // nullopt when the text does not start with a number (after an optional "v").
  static std::optional<AgentVersion> parse(std::string_view text);
  int compare(const AgentVersion& other) const;  // <0, 0, >0
};

// registeredAt literals (reference/ecs-scheduling.md §5): "2018-06-18T22:28:28+00:00",
// "...Z", "2018-06-18T22:28:28" (UTC), "2018-06-18" (midnight UTC); fractional
// seconds are accepted. Epoch seconds, or nullopt when malformed.
std::optional<double> parseQueryDate(std::string_view text);

// A whole string as a finite number ("12", "-3.5"); nullopt otherwise.
std::optional<double> parseNumber(std::string_view text);

}  // namespace berth::scheduler

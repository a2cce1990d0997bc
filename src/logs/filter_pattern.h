#pragma once
// CloudWatch Logs filter patterns for unstructured text (FilterLogEvents'
// filterPattern). Supported:
//   ""                  every event
//   ERROR timeout       every term must appear (case-sensitive substring)
//   "disk full"         a quoted phrase is one term (\" and \\ escape)
//   ?ERROR ?WARN        at least one ?-term must appear (with any plain terms)
//   ERROR -retrying     a -term must not appear
// JSON patterns ({ $.field = ... }) and space-delimited patterns ([a, b]) are
// not supported: parse() rejects them with kInvalidParameter.
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::logs {

class FilterPattern {
 public:
  static Result<FilterPattern> parse(std::string_view pattern);

  bool matchesAll() const { return required_.empty() && anyOf_.empty() && excluded_.empty(); }
  bool matches(std::string_view message) const;

 private:
  std::vector<std::string> required_;
  std::vector<std::string> anyOf_;
  std::vector<std::string> excluded_;
};

}  // namespace berth::logs

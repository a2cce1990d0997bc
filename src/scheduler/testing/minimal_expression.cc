// TEMPORARY stand-in for scheduler::Expression, linked only into placement's
// tests and benchmark while the real query language (query_language.cc, issue
// #6 engineer "qlang") is not on this branch. CMake drops it as soon as
// query_language.cc exists. Not the product: it knows just enough to drive
// placement:
//   clause ("&&" clause)* ; clause := "not(" comparison ")" | comparison
//   comparison := attribute:<name> (== | != | =~ | !~ | in | exists | !exists) [arg]
//               | task:group (== | !=) <group> | runningTasksCount (== | < | >) <n>
//               | agentConnected == true|false
#include <cctype>
#include <regex>
#include <string>
#include <vector>

#include "scheduler/query_language.h"

namespace berth::scheduler {

struct Expression::Node {
  struct Comparison {
    bool negate = false;
    std::string subject, op, argument;
    std::vector<std::string> list;
    std::regex pattern;
  };
  std::vector<Comparison> clauses;  // all must hold
};

namespace {

Error invalid(std::string m) { return Error::make(ErrorCode::kInvalidParameter, std::move(m)); }

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(s.begin());
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

bool wildcardEquals(const std::string& pattern, const std::string& value) {
  if (!pattern.empty() && pattern.back() == '*') return value.rfind(pattern.substr(0, pattern.size() - 1), 0) == 0;
  return pattern == value;
}

}  // namespace

Result<Expression> Expression::parse(std::string_view text) {
  if (trim(std::string(text)).empty()) return invalid("empty expression");
  auto node = std::make_shared<Node>();
  Expression e;
  std::string rest(text);
  std::size_t pos = 0;
  while (true) {
    std::size_t amp = rest.find("&&", pos);
    std::string clause = trim(rest.substr(pos, amp == std::string::npos ? std::string::npos : amp - pos));
    Node::Comparison c;
    if (clause.rfind("not(", 0) == 0 && clause.back() == ')') {
      c.negate = true;
      clause = trim(clause.substr(4, clause.size() - 5));
    }
    std::size_t sp = clause.find(' ');
    if (sp == std::string::npos) return invalid("missing operator in '" + clause + "'");
    c.subject = clause.substr(0, sp);
    std::string tail = trim(clause.substr(sp + 1));
    std::size_t sp2 = tail.find(' ');
    c.op = tail.substr(0, sp2);
    c.argument = sp2 == std::string::npos ? "" : trim(tail.substr(sp2 + 1));
    if (c.op == "in") {
      std::string inner = c.argument.substr(1, c.argument.size() - 2);
      std::size_t from = 0;
      while (from <= inner.size()) {
        std::size_t comma = inner.find(',', from);
        c.list.push_back(trim(inner.substr(from, comma == std::string::npos ? std::string::npos : comma - from)));
        if (comma == std::string::npos) break;
        from = comma + 1;
      }
    }
    if (c.op == "=~" || c.op == "!~") c.pattern = std::regex(c.argument);
    if (c.subject == "task:group" || c.subject == "runningTasksCount") {
      e.readsTasks_ = true;
      e.static_ = false;
    } else if (c.subject == "agentConnected") {
      e.static_ = false;
    } else if (c.subject.rfind("attribute:", 0) != 0) {
      return invalid("unknown subject '" + c.subject + "'");
    }
    node->clauses.push_back(std::move(c));
    if (amp == std::string::npos) break;
    pos = amp + 2;
  }
  e.root_ = node;
  e.text_ = std::string(text);
  return e;
}

bool Expression::matches(const InstanceFacts& instance) const {
  for (const auto& c : root_->clauses) {
    bool ok = false;
    if (c.subject == "task:group") {
      ok = instance.hasTaskInGroup(c.argument) == (c.op == "==");
    } else if (c.subject == "runningTasksCount") {
      long n = std::stol(c.argument);
      long v = instance.runningTasksCount();
      ok = c.op == "==" ? v == n : c.op == "<" ? v < n : v > n;
    } else if (c.subject == "agentConnected") {
      ok = instance.agentConnected() == (c.argument == "true");
    } else {
      const std::string* value = instance.attribute(c.subject.substr(10));
      if (c.op == "exists") ok = value != nullptr;
      else if (c.op == "!exists") ok = value == nullptr;
      else if (c.op == "==") ok = value && wildcardEquals(c.argument, *value);
      else if (c.op == "!=") ok = !value || !wildcardEquals(c.argument, *value);
      else if (c.op == "=~") ok = value && std::regex_match(*value, c.pattern);
      else if (c.op == "!~") ok = !value || !std::regex_match(*value, c.pattern);
      else if (c.op == "in") {
        for (const auto& item : c.list) ok = ok || (value && wildcardEquals(item, *value));
      }
    }
    if (ok == c.negate) return false;
  }
  return true;
}

bool Expression::isStatic() const { return static_; }
bool Expression::readsTasks() const { return readsTasks_; }
const std::string& Expression::text() const { return text_; }

}  // namespace berth::scheduler

#include "scheduler/query_language.h"

#include <cctype>
#include <vector>

#include "scheduler/query_values.h"

namespace berth::scheduler {
namespace {

enum class Subject { kAttribute, kTaskGroup, kAgentConnected, kAgentVersion, kEc2InstanceId, kRegisteredAt, kRunningTasksCount };

enum class Op { kEq, kNe, kGt, kGe, kLt, kLe, kExists, kNotExists, kIn, kNotIn, kMatches, kNotMatches };

struct OpName {
  std::string_view symbol, word;
  Op op;
};
constexpr OpName kOperators[] = {
    {"==", "equals", Op::kEq},
    {"!=", "not_equals", Op::kNe},
    {">", "greater_than", Op::kGt},
    {">=", "greater_than_equal", Op::kGe},
    {"<", "less_than", Op::kLt},
    {"<=", "less_than_equal", Op::kLe},
    {"exists", "exists", Op::kExists},
    {"!exists", "not_exists", Op::kNotExists},
    {"in", "in", Op::kIn},
    {"!in", "not_in", Op::kNotIn},
    {"=~", "matches", Op::kMatches},
    {"!~", "not_matches", Op::kNotMatches},
};

std::string_view opSymbol(Op op) {
  for (const auto& o : kOperators)
    if (o.op == op) return o.symbol;
  return "?";
}

bool isOrdered(Op op) { return op == Op::kGt || op == Op::kGe || op == Op::kLt || op == Op::kLe; }
// The operators whose result is the negation of a positive test.
bool isNegated(Op op) { return op == Op::kNe || op == Op::kNotIn || op == Op::kNotMatches || op == Op::kNotExists; }

bool orderedHolds(Op op, int cmp) {
  switch (op) {
    case Op::kGt: return cmp > 0;
    case Op::kGe: return cmp >= 0;
    case Op::kLt: return cmp < 0;
    case Op::kLe: return cmp <= 0;
    default: return false;
  }
}

template <typename T>
int threeWay(const T& a, const T& b) { return a < b ? -1 : (b < a ? 1 : 0); }

// Characters of a subject (attribute names are [A-Za-z0-9-_/\.], plus ':').
bool isSubjectChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '/' || c == '\\' || c == '.' ||
         c == ':' || c == '@';
}
bool isSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }
bool isWordChar(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// One comparison, with its argument compiled for the subject it tests.
struct Comparison {
  Subject subject = Subject::kAttribute;
  std::string attributeName;  // kAttribute
  Op op = Op::kEq;
  std::vector<StringPattern> patterns;  // ==, !=, in, !in, =~, !~ on string-valued subjects
  std::vector<std::string> groups;      // task:group
  std::string text;                     // ordered compare on attributes (string order)
  std::optional<double> number;         // runningTasksCount, registeredAt, numeric attribute order
  std::optional<AgentVersion> version;  // agentVersion ordered / exact compare

  bool matches(const InstanceFacts& facts) const;

 private:
  bool anyPattern(std::string_view value) const {
    for (const auto& p : patterns)
      if (p.matches(value)) return true;
    return false;
  }
  bool positive(const InstanceFacts& facts) const;
};

bool Comparison::matches(const InstanceFacts& facts) const {
  if (isOrdered(op)) {
    switch (subject) {
      case Subject::kRunningTasksCount: return orderedHolds(op, threeWay<double>(facts.runningTasksCount(), *number));
      case Subject::kRegisteredAt: return orderedHolds(op, threeWay(facts.registeredAt(), *number));
      case Subject::kAgentVersion: {
        auto v = AgentVersion::parse(facts.agentVersion());
        return v && orderedHolds(op, v->compare(*version));
      }
      case Subject::kAttribute: {
        const std::string* value = facts.attribute(attributeName);
        if (!value) return false;
        if (number)
          if (auto n = parseNumber(*value)) return orderedHolds(op, threeWay(*n, *number));
        const int c = value->compare(text);
        return orderedHolds(op, (c > 0) - (c < 0));
      }
      default: return false;  // rejected at parse time
    }
  }
  const bool p = positive(facts);
  return isNegated(op) ? !p : p;
}

// ==, in, =~, exists (the negated operators invert this).
bool Comparison::positive(const InstanceFacts& facts) const {
  switch (subject) {
    case Subject::kAttribute: {
      const std::string* value = facts.attribute(attributeName);
      if (op == Op::kExists || op == Op::kNotExists) return value != nullptr;
      return value && anyPattern(*value);
    }
    case Subject::kTaskGroup:
      for (const auto& g : groups)
        if (facts.hasTaskInGroup(g)) return true;
      return false;
    case Subject::kAgentConnected: return anyPattern(facts.agentConnected() ? "true" : "false");
    case Subject::kEc2InstanceId: return anyPattern(facts.ec2InstanceId());
    case Subject::kAgentVersion: {
      if (version) {  // an exact version: "1.14.5" equals "v1.14.5"
        auto v = AgentVersion::parse(facts.agentVersion());
        return v && v->compare(*version) == 0;
      }
      return anyPattern(facts.agentVersion());
    }
    case Subject::kRegisteredAt: return facts.registeredAt() == *number;
    case Subject::kRunningTasksCount: return facts.runningTasksCount() == *number;
  }
  return false;
}

}  // namespace

struct Expression::Node {
  enum class Kind { kAnd, kOr, kNot, kCompare };
  Kind kind = Kind::kCompare;
  std::vector<std::unique_ptr<const Node>> children;  // kAnd/kOr: two or more; kNot: one
  Comparison comparison;                              // kCompare

  bool matches(const InstanceFacts& facts) const {
    switch (kind) {
      case Kind::kAnd:
        for (const auto& c : children)
          if (!c->matches(facts)) return false;
        return true;
      case Kind::kOr:
        for (const auto& c : children)
          if (c->matches(facts)) return true;
        return false;
      case Kind::kNot: return !children.front()->matches(facts);
      case Kind::kCompare: return comparison.matches(facts);
    }
    return false;
  }
};

namespace {

using NodePtr = std::unique_ptr<const Expression::Node>;

struct ParseFlags {
  bool isStatic = true;
  bool readsTasks = false;
};

// Recursive descent over the grammar in query_language.h. Tokens are read on
// demand because what a token may contain depends on where it stands (a regex
// argument may hold parentheses and brackets; a subject may not).
class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  Result<NodePtr> parseAll(ParseFlags& flags) {
    flags_ = &flags;
    auto root = parseOr();
    if (!root.ok()) return root;
    skipSpace();
    if (pos_ < text_.size()) {
      if (text_[pos_] == ')') return fail("unbalanced ')'");
      return fail("expected 'and', 'or' or the end of the expression, found '" + nextToken() + "'");
    }
    return root;
  }

 private:
  Error fail(const std::string& what) const { return failAt(what, pos_); }
  Error failAt(const std::string& what, std::size_t at) const {
    return Error::make(ErrorCode::kInvalidParameter,
                       "Invalid query expression: " + what + " at position " + std::to_string(at + 1) + ".");
  }

  void skipSpace() {
    while (pos_ < text_.size() && isSpace(text_[pos_])) ++pos_;
  }
  bool atEnd() const { return pos_ >= text_.size(); }

  // The next whitespace-delimited run, for error messages.
  std::string nextToken() const {
    std::size_t end = pos_;
    while (end < text_.size() && !isSpace(text_[end]) && end - pos_ < 40) ++end;
    return std::string(text_.substr(pos_, end - pos_));
  }

  // A keyword (and/or/not) at pos_ that is a whole word: followed by the end,
  // whitespace, '(' or '!'.
  bool atKeyword(std::string_view word) const {
    if (pos_ + word.size() > text_.size() || !equalsIgnoreCase(text_.substr(pos_, word.size()), word)) return false;
    std::size_t after = pos_ + word.size();
    return after == text_.size() || isSpace(text_[after]) || text_[after] == '(' || text_[after] == '!';
  }

  bool consumeConnective(std::string_view symbol, std::string_view word) {
    skipSpace();
    if (text_.substr(pos_, symbol.size()) == symbol) {
      pos_ += symbol.size();
      return true;
    }
    if (atKeyword(word)) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  Result<NodePtr> parseBinary(Expression::Node::Kind kind, std::string_view symbol, std::string_view word) {
    const bool isOr = kind == Expression::Node::Kind::kOr;
    auto first = isOr ? parseBinary(Expression::Node::Kind::kAnd, "&&", "and") : parseUnary();
    if (!first.ok()) return first;
    std::vector<NodePtr> items;
    items.push_back(std::move(*first));
    while (consumeConnective(symbol, word)) {
      skipSpace();
      if (atEnd()) return fail("'" + std::string(word) + "' needs an expression after it");
      auto next = isOr ? parseBinary(Expression::Node::Kind::kAnd, "&&", "and") : parseUnary();
      if (!next.ok()) return next;
      items.push_back(std::move(*next));
    }
    if (items.size() == 1) return std::move(items.front());
    auto node = std::make_unique<Expression::Node>();
    node->kind = kind;
    node->children = std::move(items);
    return NodePtr(std::move(node));
  }

  Result<NodePtr> parseOr() { return parseBinary(Expression::Node::Kind::kOr, "||", "or"); }

  Result<NodePtr> parseUnary() {
    skipSpace();
    if (atEnd()) return fail("expected a comparison but the expression ended");
    const std::size_t start = pos_;
    bool negate = false;
    if (text_[pos_] == '!') {
      ++pos_;
      negate = true;
    } else if (atKeyword("not")) {
      pos_ += 3;
      negate = true;
    }
    if (negate) {
      skipSpace();
      if (atEnd() || text_[pos_] != '(')
        return failAt("'" + std::string(text_.substr(start, pos_ - start)) +
                          "' must be followed by a parenthesized expression, e.g. not(task:group == database)",
                      start);
    }
    if (text_[pos_] == '(') {
      const std::size_t open = pos_++;
      auto inner = parseOr();
      if (!inner.ok()) return inner;
      skipSpace();
      if (atEnd()) return failAt("unbalanced '(' (no matching ')')", open);
      if (text_[pos_] != ')') return fail("expected ')' but found '" + nextToken() + "'");
      ++pos_;
      if (!negate) return inner;
      auto node = std::make_unique<Expression::Node>();
      node->kind = Expression::Node::Kind::kNot;
      node->children.push_back(std::move(*inner));
      return NodePtr(std::move(node));
    }
    return parseComparison();
  }

  Result<NodePtr> parseComparison() {
    auto node = std::make_unique<Expression::Node>();
    Comparison& c = node->comparison;
    const std::size_t subjectAt = pos_;
    while (pos_ < text_.size() && isSubjectChar(text_[pos_])) ++pos_;
    const std::string_view subject = text_.substr(subjectAt, pos_ - subjectAt);
    if (subject.empty())
      return fail("expected a subject (attribute:<name>, task:group, agentConnected, agentVersion, ec2InstanceId, "
                  "registeredAt or runningTasksCount), found '" + nextToken() + "'");
    if (subject.starts_with("attribute:")) {
      c.subject = Subject::kAttribute;
      c.attributeName = std::string(subject.substr(10));
      if (c.attributeName.empty()) return failAt("'attribute:' needs an attribute name", subjectAt);
    } else if (subject == "task:group") {
      c.subject = Subject::kTaskGroup;
    } else if (subject == "agentConnected") {
      c.subject = Subject::kAgentConnected;
    } else if (subject == "agentVersion") {
      c.subject = Subject::kAgentVersion;
    } else if (subject == "ec2InstanceId") {
      c.subject = Subject::kEc2InstanceId;
    } else if (subject == "registeredAt") {
      c.subject = Subject::kRegisteredAt;
    } else if (subject == "runningTasksCount") {
      c.subject = Subject::kRunningTasksCount;
    } else {
      return failAt("unknown subject '" + std::string(subject) +
                        "' (valid: attribute:<name>, task:group, agentConnected, agentVersion, ec2InstanceId, "
                        "registeredAt, runningTasksCount)",
                    subjectAt);
    }
    if (c.subject == Subject::kTaskGroup || c.subject == Subject::kRunningTasksCount) flags_->readsTasks = true;
    if (c.subject == Subject::kTaskGroup || c.subject == Subject::kRunningTasksCount ||
        c.subject == Subject::kAgentConnected)
      flags_->isStatic = false;

    skipSpace();
    const std::size_t opAt = pos_;
    auto op = readOperator();
    if (!op) {
      if (atEnd()) return failAt("'" + std::string(subject) + "' needs an operator", opAt);
      return failAt("unknown operator '" + nextToken() +
                        "' (valid: ==, !=, >, >=, <, <=, exists, !exists, in, !in, =~, !~ or their word forms)",
                    opAt);
    }
    c.op = *op;
    BERTH_TRY(checkOperatorApplies(c, subject, opAt));
    BERTH_TRY(readArgument(c, opAt));
    return NodePtr(std::move(node));
  }

  std::optional<Op> readOperator() {
    std::size_t end = pos_;
    auto isSymbol = [](char ch) { return ch == '=' || ch == '!' || ch == '<' || ch == '>' || ch == '~'; };
    while (end < text_.size() && isSymbol(text_[end])) ++end;
    // "!exists" / "!in" are a '!' glued to a word.
    if (end == pos_ + 1 && text_[pos_] == '!')
      while (end < text_.size() && isWordChar(text_[end])) ++end;
    if (end == pos_)
      while (end < text_.size() && isWordChar(text_[end])) ++end;
    const std::string_view token = text_.substr(pos_, end - pos_);
    for (const auto& o : kOperators) {
      if (token == o.symbol || token == o.word) {
        pos_ = end;
        return o.op;
      }
    }
    return std::nullopt;
  }

  Status checkOperatorApplies(const Comparison& c, std::string_view subject, std::size_t opAt) const {
    const Subject s = c.subject;
    bool ok = true;
    if (c.op == Op::kExists || c.op == Op::kNotExists) ok = s == Subject::kAttribute;
    else if (isOrdered(c.op))
      ok = s == Subject::kAttribute || s == Subject::kAgentVersion || s == Subject::kRegisteredAt ||
           s == Subject::kRunningTasksCount;
    else if (c.op == Op::kIn || c.op == Op::kNotIn)
      ok = s != Subject::kRegisteredAt && s != Subject::kRunningTasksCount;
    else if (c.op == Op::kMatches || c.op == Op::kNotMatches)
      ok = s == Subject::kAttribute || s == Subject::kEc2InstanceId || s == Subject::kAgentConnected ||
           s == Subject::kAgentVersion;
    if (ok) return okStatus();
    return failAt("operator '" + std::string(opSymbol(c.op)) + "' cannot be used with '" + std::string(subject) + "'",
                  opAt);
  }

  // One argument value: 'quoted', "quoted" or bare. A bare value ends at
  // whitespace, at a ')' that closes an enclosing group, at && or ||, and in a
  // list at ',' or ']'. Parentheses inside a bare value must balance, so
  // `=~ t2.(micro|small)` reads whole.
  Result<std::string> readValue(bool inList, std::string_view opText, std::size_t opAt) {
    skipSpace();
    if (atEnd() || text_[pos_] == ')' || (inList && (text_[pos_] == ']' || text_[pos_] == ',')) ||
        text_.substr(pos_, 2) == "&&" || text_.substr(pos_, 2) == "||")
      return failAt("operator '" + std::string(opText) + "' needs a value", atEnd() ? pos_ : opAt);
    const char first = text_[pos_];
    if (first == '\'' || first == '"') {
      const std::size_t open = pos_++;
      std::string out;
      while (pos_ < text_.size() && text_[pos_] != first) {
        if (text_[pos_] == '\\' && pos_ + 1 < text_.size() && (text_[pos_ + 1] == first || text_[pos_ + 1] == '\\'))
          ++pos_;
        out.push_back(text_[pos_++]);
      }
      if (atEnd()) return failAt("unterminated quoted value", open);
      ++pos_;
      return out;
    }
    const std::size_t start = pos_;
    int depth = 0;
    while (pos_ < text_.size()) {
      const char ch = text_[pos_];
      if (isSpace(ch)) break;
      if (inList && (ch == ',' || ch == ']')) break;
      if (ch == '(') ++depth;
      if (ch == ')' && depth-- == 0) break;
      if (depth == 0 && (text_.substr(pos_, 2) == "&&" || text_.substr(pos_, 2) == "||")) break;
      ++pos_;
    }
    if (depth > 0) return failAt("unbalanced '(' in value", start);
    return std::string(text_.substr(start, pos_ - start));
  }

  Result<std::vector<std::string>> readArguments(const Comparison& c, std::size_t opAt) {
    std::vector<std::string> values;
    const std::string opText(opSymbol(c.op));
    skipSpace();
    const bool list = !atEnd() && text_[pos_] == '[';
    if (list && c.op != Op::kIn && c.op != Op::kNotIn)
      return fail("a list argument is only valid with 'in' and '!in'");
    if (!list) {
      auto v = readValue(false, opText, opAt);
      if (!v.ok()) return v.takeError();
      values.push_back(std::move(*v));
      return values;
    }
    const std::size_t open = pos_++;
    while (true) {
      auto v = readValue(true, opText, opAt);
      if (!v.ok()) {
        skipSpace();
        if (values.empty() && !atEnd() && text_[pos_] == ']') return failAt("the list is empty", open);
        return v.takeError();
      }
      values.push_back(std::move(*v));
      skipSpace();
      if (atEnd()) return failAt("unbalanced '[' (no matching ']')", open);
      if (text_[pos_] == ']') {
        ++pos_;
        return values;
      }
      if (text_[pos_] != ',') return fail("expected ',' or ']' in the list, found '" + nextToken() + "'");
      ++pos_;
    }
  }

  Status readArgument(Comparison& c, std::size_t opAt) {
    if (c.op == Op::kExists || c.op == Op::kNotExists) return okStatus();
    const std::size_t argAt = [&] {
      std::size_t p = pos_;
      while (p < text_.size() && isSpace(text_[p])) ++p;
      return p;
    }();
    auto values = readArguments(c, opAt);
    if (!values.ok()) return values.takeError();
    switch (c.subject) {
      case Subject::kRunningTasksCount:
        c.number = parseNumber(values->front());
        if (!c.number) return failAt("runningTasksCount needs a number, not '" + values->front() + "'", argAt);
        return okStatus();
      case Subject::kRegisteredAt:
        c.number = parseQueryDate(values->front());
        if (!c.number)
          return failAt("'" + values->front() +
                            "' is not a date (use 2018-06-18T22:28:28+00:00, 2018-06-18T22:28:28Z, "
                            "2018-06-18T22:28:28 or 2018-06-18)",
                        argAt);
        return okStatus();
      case Subject::kTaskGroup:
        for (auto& v : *values) {
          if (v.find('*') != std::string::npos)
            return failAt("task:group does not take wildcards ('" + v + "'); name the group exactly", argAt);
          c.groups.push_back(std::move(v));
        }
        return okStatus();
      case Subject::kAgentVersion:
        if (isOrdered(c.op) || ((c.op == Op::kEq || c.op == Op::kNe) && values->front().find('*') == std::string::npos)) {
          c.version = AgentVersion::parse(values->front());
          if (!c.version) return failAt("'" + values->front() + "' is not a version (e.g. 1.14.5)", argAt);
          return okStatus();
        }
        break;
      case Subject::kAttribute:
        if (isOrdered(c.op)) {
          c.text = values->front();
          c.number = parseNumber(c.text);
          return okStatus();
        }
        break;
      case Subject::kAgentConnected:
        for (auto& v : *values) {
          if (c.op == Op::kMatches || c.op == Op::kNotMatches) break;
          if (!equalsIgnoreCase(v, "true") && !equalsIgnoreCase(v, "false"))
            return failAt("agentConnected is true or false, not '" + v + "'", argAt);
          v = equalsIgnoreCase(v, "true") ? "true" : "false";
        }
        break;
      case Subject::kEc2InstanceId: break;
    }
    for (const auto& v : *values) {
      if (c.op == Op::kMatches || c.op == Op::kNotMatches) {
        auto pattern = StringPattern::regex(v);
        if (!pattern.ok()) return failAt(pattern.error().message, argAt);
        c.patterns.push_back(std::move(*pattern));
      } else {
        c.patterns.push_back(StringPattern::wildcard(v));
      }
    }
    return okStatus();
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  ParseFlags* flags_ = nullptr;
};

}  // namespace

Result<Expression> Expression::parse(std::string_view text) {
  if (text.size() > kMaxExpressionLength)
    return Error::make(ErrorCode::kInvalidParameter, "Invalid query expression: it is " + std::to_string(text.size()) +
                                                         " characters long; the maximum is " +
                                                         std::to_string(kMaxExpressionLength) + ".");
  bool blank = true;
  for (char c : text) blank = blank && isSpace(c);
  if (blank) return Error::make(ErrorCode::kInvalidParameter, "Invalid query expression: the expression is empty.");
  ParseFlags flags;
  auto root = Parser(text).parseAll(flags);
  if (!root.ok()) return root.takeError();
  Expression e;
  e.root_ = std::shared_ptr<const Node>(std::move(*root));
  e.text_ = std::string(text);
  e.static_ = flags.isStatic;
  e.readsTasks_ = flags.readsTasks;
  return e;
}

bool Expression::matches(const InstanceFacts& instance) const { return root_ && root_->matches(instance); }
bool Expression::isStatic() const { return static_; }
bool Expression::readsTasks() const { return readsTasks_; }
const std::string& Expression::text() const { return text_; }

}  // namespace berth::scheduler

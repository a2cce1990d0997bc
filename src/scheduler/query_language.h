#pragma once
// The ECS cluster query language (reference/ecs-scheduling.md §5): memberOf
// placement constraints and ListContainerInstances' `filter` parameter.
//
//   expression := or ; or := and (("||" | "or") and)* ; and := unary (("&&" | "and") unary)*
//   unary      := ("!" | "not") "(" expression ")" | "(" expression ")" | comparison
//   comparison := subject operator [argument]
// Subjects: attribute:<name>, task:group, agentConnected, agentVersion,
// ec2InstanceId, registeredAt, runningTasksCount. Operators and aliases:
// == equals, != not_equals, > greater_than, >= greater_than_equal, < less_than,
// <= less_than_equal, exists, !exists not_exists, in, !in not_in, =~ matches,
// !~ not_matches. Lists: [a, 'b', "c"]. `*` in ==/!=/in arguments is a wildcard.
//
// Pure: parsing and matching do no I/O; the instance is seen through
// InstanceFacts, which the caller fills from its own model.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::scheduler {

// The longest expression ECS accepts (placement constraints and list filters).
inline constexpr std::size_t kMaxExpressionLength = 2000;

// What an expression may ask about one container instance.
class InstanceFacts {
 public:
  virtual ~InstanceFacts() = default;
  // nullptr: attribute absent. An attribute without a value reads as "".
  virtual const std::string* attribute(std::string_view name) const = 0;
  virtual std::string_view ec2InstanceId() const = 0;
  virtual bool agentConnected() const = 0;
  virtual std::string_view agentVersion() const = 0;  // e.g. "1.14.5" (a leading "v" or suffix is ignored)
  virtual double registeredAt() const = 0;            // epoch seconds
  virtual int runningTasksCount() const = 0;
  // Whether a task of this group (not STOPPED) is on the instance (task:group).
  virtual bool hasTaskInGroup(std::string_view group) const = 0;
};

class Expression {
 public:
  // Errors: kInvalidParameter with a message naming the problem and where
  // (unknown subject or operator, missing argument, unbalanced parentheses,
  // bad date, too long, empty).
  static Result<Expression> parse(std::string_view text);

  bool matches(const InstanceFacts& instance) const;

  // True when the result depends only on attributes, ec2InstanceId,
  // agentVersion and registeredAt: it changes only when the instance's
  // registration or attributes change, so callers may cache it per instance.
  bool isStatic() const;
  // True when the expression reads task:group or runningTasksCount.
  bool readsTasks() const;

  const std::string& text() const;

  struct Node;  // the parsed tree (query_language.cc)

 private:
  std::shared_ptr<const Node> root_;
  std::string text_;
  bool static_ = true;
  bool readsTasks_ = false;
};

}  // namespace berth::scheduler

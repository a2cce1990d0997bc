// ECS's validation of PlacementConstraint and PlacementStrategy, with the
// messages Berth has used since RunTask learned placement (control/task_ops.cc).
#include <string>

#include "scheduler/placement.h"

namespace berth::scheduler {
namespace {

Error invalid(std::string message) { return Error::make(ErrorCode::kInvalidParameter, std::move(message)); }

constexpr std::string_view kAttributePrefix = "attribute:";

}  // namespace

Result<Constraint> parseConstraint(std::string_view type, std::optional<std::string_view> expression,
                                   bool fromTaskDefinition) {
  bool hasExpression = expression && !expression->empty();
  if (type != "distinctInstance" && type != "memberOf")
    return invalid("Invalid placement constraint type '" + std::string(type) +
                   "'. Valid values: distinctInstance, memberOf.");
  if (fromTaskDefinition && type != "memberOf")
    return invalid("Task definition placement constraints may only be of type memberOf.");
  Constraint constraint;
  if (type == "distinctInstance") {
    if (hasExpression) return invalid("Placement constraint type distinctInstance does not take an expression.");
    constraint.type = Constraint::Type::kDistinctInstance;
    return constraint;
  }
  if (!hasExpression) return invalid("Placement constraint type memberOf requires an expression.");
  auto parsed = Expression::parse(*expression);
  if (!parsed.ok()) return parsed.takeError();
  constraint.type = Constraint::Type::kMemberOf;
  constraint.expression = std::move(parsed).value();
  return constraint;
}

Result<Strategy> parseStrategy(std::string_view type, std::optional<std::string_view> field) {
  std::string_view f = field.value_or("");
  Strategy strategy;
  strategy.field = std::string(f);
  if (type == "binpack") {
    if (f != "cpu" && f != "memory") return invalid("The binpack placement strategy field must be cpu or memory.");
    strategy.type = Strategy::Type::kBinpack;
    return strategy;
  }
  if (type == "spread") {
    if (f.empty()) return invalid("The spread placement strategy requires a field (instanceId, host or attribute:<name>).");
    bool attribute = f.substr(0, kAttributePrefix.size()) == kAttributePrefix && f.size() > kAttributePrefix.size();
    if (f != "instanceId" && f != "host" && !attribute)
      return invalid("Invalid spread placement strategy field '" + std::string(f) +
                     "'. Valid values: instanceId, host, attribute:<name>.");
    strategy.type = Strategy::Type::kSpread;
    return strategy;
  }
  if (type == "random") {
    if (!f.empty()) return invalid("The random placement strategy does not take a field.");
    strategy.type = Strategy::Type::kRandom;
    return strategy;
  }
  return invalid("Invalid placement strategy type '" + std::string(type) + "'. Valid values: random, spread, binpack.");
}

}  // namespace berth::scheduler

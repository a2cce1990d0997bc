#pragma once
// Model-driven checks of JSON 1.1 request bodies (and, as a test aid, response
// bodies) against a ServiceModel, answering malformed input the way AWS does.
//
// AWS JSON services reject input in two layers, and so does checkInput:
//  1. Deserialization. A member of the wrong JSON type fails the whole request
//     with `SerializationException` and a fixed wording, e.g.
//       "STRING_VALUE can not be converted to an Integer"
//       "NUMBER_VALUE can not be converted to a String"
//       "TRUE_VALUE can not be converted to a String"
//       "Start of list found where not expected"
//       "Start of structure or map found where not expected."
//       "Expected list or null" / "Expected map or null" / "Expected null" (structure)
//     The first such error wins, before any constraint is looked at. A body
//     that is a JSON scalar gets a SerializationException without a message.
//  2. Model validation. Missing required members and min/max (length, value,
//     element count) and enum violations, all collected and reported at once.
//     The exception name and wording differ per service; see InputPolicy.
// Unknown members are ignored and `null` means absent, as on AWS.
//
// Not checked here (left to operation logic): `pattern` (Java regexes; the
// patterns stay available on Shape), cross-member rules, and anything ECS
// reports with its own operation-specific messages (enums, for one).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/service_model.h"
#include "common/result.h"

namespace berth::api {

enum class ValidationStyle : std::uint8_t {
  // Coral's framework validation, every violation listed:
  //   "2 validation errors detected: Value '' at 'logGroupNamePrefix' failed to satisfy
  //    constraint: Member must have length greater than or equal to 1; Value null at
  //    'name' failed to satisfy constraint: Member must not be null"
  // Paths lower-case the first letter of each member; list elements are
  // "<list>.<1-based index>.member", map values "<map>.<key>.member".
  kCoral,
  // ECR: the first violation only,
  //   "Invalid parameter at 'repositoryName' failed to satisfy constraint:
  //    'must have length greater than or equal to 2'"
  kEcr,
  // ECS: a missing required member is reported like ECS's own checks,
  // "Cluster can not be blank." (scalars) / "Tasks cannot be empty." (lists,
  // maps); other constraint violations in the kCoral wording.
  kEcs,
};

// How one service reports model-validation failures (layer 2). Layer 1 is the
// same for every JSON service.
struct InputPolicy {
  std::string validationCode = "ValidationException";  // __type for layer-2 failures
  ValidationStyle style = ValidationStyle::kCoral;
  bool checkEnums = true;         // ECS: false (operations report bad enums themselves)
  bool quoteEnumValues = false;   // "[a, b]" vs "['a', 'b']" (Application Auto Scaling)
  // Coral reads JSON numbers through a truncating conversion, so 2.7 for an
  // Integer member is accepted as 2. Set false to reject fractions instead.
  bool truncateFractionalIntegers = true;
  std::size_t maxDepth = 64;       // structure/list/map nesting, against hostile input
  std::size_t maxListedErrors = 20;  // kCoral: violations spelled out in one message
};

// The policy for a service, from what AWS is observed to return:
//   ecs: InvalidParameterException, kEcs, enums unchecked
//   ecr: InvalidParameterException, kEcr
//   logs: InvalidParameterException, kCoral
//   ssm, events: ValidationException, kCoral
//   application-autoscaling: ValidationException, kCoral, quoted enum values
//   elbv2, cloudwatch (Query; for a Query decoder that builds JSON): ValidationError, kCoral
InputPolicy inputPolicyFor(const ServiceModel& model);

// A request the service must reject. The dispatcher answers
//   HTTP <httpStatus>, {"__type": awsCode, "message": message}
// omitting "message" when it is empty (AWS sends none for some deserialization
// failures).
struct InputError {
  ErrorCode code = ErrorCode::kSerialization;  // kSerialization (layer 1) | kInvalidParameter (layer 2)
  std::string awsCode;   // "SerializationException", "ValidationException", "InvalidParameterException", ...
  std::string message;   // AWS wording; may be empty
  int httpStatus = 400;
  std::string path;      // Coral path of the first offending member; "" = the body itself

  // Error{code, message, context = awsCode}.
  Error toError() const;
};

// nullopt when the body is acceptable for op's input shape.
std::optional<InputError> findInputError(const ServiceModel& model, const Operation& op,
                                         const nlohmann::json& body, const InputPolicy& policy);
std::optional<InputError> findInputError(const ServiceModel& model, const Operation& op,
                                         const nlohmann::json& body);  // inputPolicyFor(model)

// Status form of findInputError: the Error carries code kSerialization or
// kInvalidParameter, the AWS message, and the AWS error name (__type) in
// Error::context.
Status checkInput(const ServiceModel& model, const Operation& op, const nlohmann::json& body);

// Debug/test aid: does a response body match op's output shape? Strict, to
// catch our own encoding bugs: unknown members, nulls (omit instead), wrong
// JSON types (integers must be JSON integers, timestamps numbers, blobs
// base64) and nesting deeper than 64 are errors. Enum values and constraints
// are not checked (AWS adds values over time). Error code kInternal, message
// names the path, e.g. "tasks[0].containers[1].exitCode: expected integer, got string".
Status checkOutput(const ServiceModel& model, const Operation& op, const nlohmann::json& body);

// Deepest [ / { nesting in raw JSON text (strings skipped), without parsing.
// Lets a caller refuse hostile bodies before building a DOM: nlohmann parses
// iteratively, but dump(), copies and comparisons of the DOM recurse.
std::size_t jsonNestingDepth(std::string_view raw);

}  // namespace berth::api

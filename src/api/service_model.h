#pragma once
// ServiceModel: the AWS API model of one service (ECS, ECR, Logs, SSM,
// Application Auto Scaling, EventBridge, ELBv2, CloudWatch) as the server sees
// it: metadata for routing and signing, operations, and shapes with the
// constraints a server enforces. The data is extracted from Debian's
// python3-botocore at build time (src/api/model/gen_models.py, plus overlays in
// src/api/model/overlays/) and embedded in the binary, so the server speaks
// exactly the contract the AWS CLI / boto3 of that version speak.
//
// Models are parsed once, on first use (thread-safe static init), and are
// immutable afterwards: every pointer handed out stays valid for the life of
// the process and may be shared across threads without locking.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::api {

enum class ShapeType : std::uint8_t {
  kStructure,
  kList,
  kMap,
  kString,
  kInteger,  // 32-bit signed
  kLong,     // 64-bit signed
  kFloat,
  kDouble,
  kBoolean,
  kTimestamp,  // JSON protocols: epoch seconds (fraction allowed)
  kBlob,       // JSON protocols: base64 string
};

std::string_view shapeTypeName(ShapeType type);  // "structure", "integer", ... (model spelling)

struct Shape;

struct Member {
  std::string name;  // wire name, exactly as in the model ("taskDefinition", "Name")
  const Shape* shape = nullptr;
  bool required = false;
  bool idempotencyToken = false;  // SDKs fill it with a UUID when the caller leaves it out
  std::string locationName;       // Query/XML protocols: element name when it differs from name
};

// Model-declared error (exception) details. Query protocols send `code` (which
// can differ from the shape name, e.g. TargetGroupNotFoundException ->
// "TargetGroupNotFound"); JSON protocols send the shape name as __type.
struct ErrorInfo {
  std::string code;
  int httpStatusCode = 0;  // 0 when the model pins none (JSON services: use 400/500)
  bool senderFault = false;
};

struct Shape {
  std::string name;
  ShapeType type = ShapeType::kStructure;

  // kStructure: members in model order.
  std::vector<Member> members;
  // kList: element shape. kMap: key and value shapes.
  const Shape* member = nullptr;
  const Shape* key = nullptr;
  const Shape* value = nullptr;

  // Constraints. For strings/blobs min/max bound the length (code points for
  // strings, bytes for blobs); for lists/maps the element count; for numbers
  // the value.
  std::optional<double> min;
  std::optional<double> max;
  std::string pattern;                  // Java regex as in the model; not enforced here
  std::vector<std::string> enumValues;  // strings only; empty = not an enum

  bool exception = false;  // an error shape
  bool fault = false;      // server-side error (5xx)
  bool sensitive = false;  // never echo values of this shape in messages or logs
  bool flattened = false;  // Query/XML lists and maps
  std::optional<ErrorInfo> error;

  const Member* findMember(std::string_view memberName) const;
};

struct Operation {
  std::string name;
  const Shape* input = nullptr;   // nullptr when the operation takes no input
  const Shape* output = nullptr;  // nullptr when it returns nothing
  std::vector<const Shape*> errors;
  std::string resultWrapper;  // Query protocols: <Op>Result element
};

class ServiceModel {
 public:
  // Registry of the embedded models. Return nullptr for unknown names.
  // byName takes the botocore directory name: "ecs", "ecr", "logs", "ssm",
  // "application-autoscaling", "events", "elbv2", "cloudwatch".
  static const ServiceModel* byName(std::string_view name);
  // JSON protocols only: the part of X-Amz-Target before the '.', e.g.
  // "AmazonEC2ContainerServiceV20141113".
  static const ServiceModel* byTargetPrefix(std::string_view prefix);
  // Query protocols: the Version= parameter, e.g. "2015-12-01" (ELBv2).
  static const ServiceModel* byQueryVersion(std::string_view apiVersion);
  static std::span<const ServiceModel* const> all();

  // Parses one model in the generator's format. Public for tests and tools;
  // servers use the registry above.
  static Result<std::unique_ptr<ServiceModel>> parse(std::string_view json);

  const std::string& name() const { return name_; }
  const std::string& protocol() const { return protocol_; }        // "json" | "query"
  const std::string& targetPrefix() const { return targetPrefix_; }  // empty for Query
  const std::string& signingName() const { return signingName_; }    // SigV4 scope service
  const std::string& apiVersion() const { return apiVersion_; }
  const std::string& jsonVersion() const { return jsonVersion_; }  // "1.1"; empty for Query
  const std::string& serviceId() const { return serviceId_; }
  const std::string& endpointPrefix() const { return endpointPrefix_; }
  const std::string& xmlNamespace() const { return xmlNamespace_; }  // Query only

  const Operation* operation(std::string_view opName) const;
  const Shape* shape(std::string_view shapeName) const;
  const std::map<std::string, Operation, std::less<>>& operations() const { return operations_; }
  const std::map<std::string, std::unique_ptr<Shape>, std::less<>>& shapes() const { return shapes_; }

  // Provenance, for diagnostics and tests.
  const std::string& sourcePath() const { return sourcePath_; }
  const std::string& botocoreVersion() const { return botocoreVersion_; }
  std::size_t sourceOperationCount() const { return sourceOperationCount_; }  // before overlays
  const std::vector<std::string>& overlayOperations() const { return overlayOperations_; }

 private:
  ServiceModel() = default;

  std::string name_, protocol_, targetPrefix_, signingName_, apiVersion_, jsonVersion_, serviceId_,
      endpointPrefix_, xmlNamespace_;
  std::string sourcePath_, botocoreVersion_;
  std::size_t sourceOperationCount_ = 0;
  std::vector<std::string> overlayOperations_;
  std::map<std::string, std::unique_ptr<Shape>, std::less<>> shapes_;
  std::map<std::string, Operation, std::less<>> operations_;
};

}  // namespace berth::api

#pragma once
// AWS JSON 1.1 dispatch: X-Amz-Target "<prefix>.<Operation>" picks a service
// and an operation; the body is parsed, checked against the API model and
// handed to the operation; results and errors are shaped as AWS shapes them.
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "api/aws_error.h"
#include "api/http_types.h"
#include "api/sigv4.h"
#include "common/result.h"

namespace berth::api {

// `caller` is the verified signer (most operations ignore it; e.g. ECR
// GetAuthorizationToken issues a token for the caller's access key).
using JsonOperation =
    std::function<Result<nlohmann::json>(const nlohmann::json& request, const SigV4Identity& caller)>;

// The asynchronous form, for operations that wait (long polls): the operation
// returns at once and calls `done` exactly once, later, from any thread; the
// HTTP worker is free meanwhile (the router answers with a DeferredResponse).
using JsonDone = std::function<void(Result<nlohmann::json>)>;
using AsyncJsonOperation =
    std::function<void(const nlohmann::json& request, const SigV4Identity& caller, JsonDone done)>;

struct JsonService {
  std::string targetPrefix;  // e.g. "AmazonEC2ContainerServiceV20141113"
  std::string signingName;   // SigV4 scope service, e.g. "ecs"
  // Service-specific error codes → the model's exception names.
  std::function<AwsError(const Error&)> mapError;
  // Model-driven input check (types, required members, ranges); nullopt = fine.
  std::function<std::optional<AwsError>(const std::string& operation, const nlohmann::json& body)> checkInput;
  // Whether the model has this operation (so unimplemented ones get a clear message).
  std::function<bool(const std::string& operation)> modelHasOperation;
  std::unordered_map<std::string, JsonOperation> operations;
  // Same checks (signature scope, body, model) as `operations`; a name must
  // not be in both.
  std::unordered_map<std::string, AsyncJsonOperation> asyncOperations;
};

class ServiceModel;
// Fills targetPrefix, checkInput and modelHasOperation from the API model so a
// service only adds its error mapping and operations.
void bindServiceModel(JsonService& service, const ServiceModel& model);

class JsonProtocolRouter {
 public:
  void addService(JsonService service);
  bool handles(const HttpRequest& request) const { return request.header("x-amz-target") != nullptr; }
  // `identity` is the verified SigV4 signer; its scope must name this service.
  HttpResponse handle(const HttpRequest& request, const SigV4Identity& identity, const std::string& requestId) const;
  // Maps an error of a request that never reached a service (auth, transport).
  static HttpResponse commonError(const Error& error, const std::string& requestId);

 private:
  std::unordered_map<std::string, JsonService> services_;
};

}  // namespace berth::api

#include "api/json_protocol_router.h"

#include "api/service_model.h"
#include "api/shape_checker.h"
#include "common/log.h"

namespace berth::api {
namespace {

constexpr std::size_t kMaxJsonDepth = 64;

HttpResponse ok(const nlohmann::json& body, const std::string& requestId) {
  HttpResponse r;
  r.setHeader("Content-Type", "application/x-amz-json-1.1");
  r.setHeader("x-amzn-RequestId", requestId);
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

// The operation's result as AWS shapes it (errors mapped by the service).
HttpResponse toHttpResponse(const Result<nlohmann::json>& result, const JsonService& service,
                            const std::string& operation, const std::string& requestId) {
  if (result.ok()) return ok(*result, requestId);
  const Error& e = result.error();
  AwsError aws;
  if (!commonAwsError(e, aws)) aws = service.mapError(e);
  if (aws.httpStatus >= 500) log::error("operation failed", {{"operation", operation}, {"error", e.message}, {"context", e.context}});
  return jsonErrorResponse(aws, requestId);
}

// Runs an asynchronous operation and answers with a DeferredResponse that
// its `done` completes.
template <typename OnThrow>
HttpResponse handleAsync(const AsyncJsonOperation& op, const JsonService& service, const std::string& operation,
                         const nlohmann::json& body, const SigV4Identity& identity, const std::string& requestId,
                         OnThrow&& threw) {
  auto deferred = std::make_shared<DeferredResponse>();
  // The service lives in the router, which outlives the HTTP server; `done`
  // may run on any thread, after this returns.
  const JsonService* svc = &service;
  JsonDone done = [deferred, svc, operation, requestId](Result<nlohmann::json> result) {
    deferred->complete(toHttpResponse(result, *svc, operation, requestId));
  };
  try {
    op(body, identity, std::move(done));
  } catch (const std::exception& e) {
    deferred->complete(threw(e));  // no effect if the operation already answered
  }
  HttpResponse r;
  r.deferred = std::move(deferred);
  return r;
}

}  // namespace

void bindServiceModel(JsonService& service, const ServiceModel& model) {
  const ServiceModel* m = &model;  // models are immutable and live for the whole process
  service.targetPrefix = std::string(model.targetPrefix());
  service.signingName = std::string(model.signingName());
  service.modelHasOperation = [m](const std::string& op) { return m->operation(op) != nullptr; };
  service.checkInput = [m](const std::string& op, const nlohmann::json& body) -> std::optional<AwsError> {
    const Operation* operation = m->operation(op);
    if (!operation) return std::nullopt;
    auto bad = findInputError(*m, *operation, body);
    if (!bad) return std::nullopt;
    return AwsError{bad->awsCode, bad->httpStatus, bad->message};
  };
}

void JsonProtocolRouter::addService(JsonService service) {
  auto prefix = service.targetPrefix;
  services_.emplace(std::move(prefix), std::move(service));
}

HttpResponse JsonProtocolRouter::commonError(const Error& error, const std::string& requestId) {
  AwsError aws;
  if (!commonAwsError(error, aws)) aws = {"InternalFailure", 500, error.message};
  return jsonErrorResponse(aws, requestId);
}

HttpResponse JsonProtocolRouter::handle(const HttpRequest& request, const SigV4Identity& identity,
                                        const std::string& requestId) const {
  const std::string* target = request.header("x-amz-target");
  std::string_view t = target ? std::string_view(*target) : std::string_view();
  auto dot = t.rfind('.');
  auto unknown = [&](std::string message) {
    return jsonErrorResponse({"UnknownOperationException", 400, std::move(message)}, requestId);
  };
  if (dot == std::string_view::npos) return unknown("The X-Amz-Target header '" + std::string(t) + "' does not name an operation.");
  auto svc = services_.find(std::string(t.substr(0, dot)));
  if (svc == services_.end()) return unknown("Unknown service target prefix '" + std::string(t.substr(0, dot)) + "'.");
  const JsonService& service = svc->second;
  // A signature for another service must not authorize this one (AWS's wording).
  if (!service.signingName.empty() && identity.service != service.signingName)
    return jsonErrorResponse({"InvalidSignatureException", 400,
                              "Credential should be scoped to correct service: '" + service.signingName + "'. "},
                             requestId);
  const std::string operation(t.substr(dot + 1));

  auto op = service.operations.find(operation);
  auto asyncOp = service.asyncOperations.find(operation);
  if (op == service.operations.end() && asyncOp == service.asyncOperations.end()) {
    if (service.modelHasOperation && service.modelHasOperation(operation))
      return unknown("Operation " + operation + " is not supported by Berth yet.");
    return unknown("Unknown operation " + operation + ".");
  }

  // nlohmann parses iteratively but copies, dumps and compares recursively:
  // refuse absurd nesting before parsing so hostile bodies can't exhaust the stack.
  if (jsonNestingDepth(request.body) > kMaxJsonDepth)
    return jsonErrorResponse({"SerializationException", 400, "The request body is nested too deeply."}, requestId);
  // Operations without input still send "{}"; an empty body is treated the same.
  nlohmann::json body = request.body.empty() ? nlohmann::json::object()
                                             : nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return jsonErrorResponse({"SerializationException", 400, "The request body is not valid JSON."}, requestId);
  if (!body.is_object())
    return jsonErrorResponse({"SerializationException", 400, "Start of structure or map found where not expected."}, requestId);
  if (service.checkInput) {
    if (auto bad = service.checkInput(operation, body)) return jsonErrorResponse(*bad, requestId);
  }

  auto threw = [&](const std::exception& e) {
    // Exceptions are bugs, not expected failures: report them as ServerException and log.
    log::error("operation threw", {{"operation", operation}, {"what", e.what()}, {"requestId", requestId}});
    return jsonErrorResponse(service.mapError(Error::make(ErrorCode::kInternal, "An internal error occurred.")), requestId);
  };
  if (op == service.operations.end()) return handleAsync(asyncOp->second, service, operation, body, identity, requestId, threw);
  Result<nlohmann::json> result = Error{};
  try {
    result = op->second(body, identity);
  } catch (const std::exception& e) {
    return threw(e);
  }
  return toHttpResponse(result, service, operation, requestId);
}

}  // namespace berth::api

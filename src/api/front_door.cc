#include "api/front_door.h"

namespace berth::api {

HttpResponse FrontDoor::handle(const HttpRequest& request) const {
  const std::string requestId = random_.uuid();
  auto path = request.path();
  if ((path == "/healthz" || path == "/ping") && request.method == "GET") {
    HttpResponse r;
    r.setHeader("Content-Type", "text/plain");
    r.body = "ok\n";
    return r;
  }
  if (registry_ && OciDistributionApi::handles(path)) return registry_->handle(request);
  // Authenticate before anything else, as AWS does: an unsigned request learns
  // nothing about which operations or resources exist.
  auto identity = verifySigV4(request, credentials_, clock_.now());
  if (!identity.ok()) return JsonProtocolRouter::commonError(identity.error(), requestId);
  if (identity->region != region_)
    return JsonProtocolRouter::commonError(
        Error::make(ErrorCode::kAuthInvalidSignature,
                    "Credential should be scoped to a valid region, not '" + identity->region + "'. "),
        requestId);
  if (json_.handles(request)) return json_.handle(request, *identity, requestId);
  if (events_ && EventsApi::handles(path)) return events_->handle(request, requestId);
  return jsonErrorResponse({"UnknownOperationException", 400,
                            "The request has no X-Amz-Target header; Berth serves AWS JSON 1.1 requests on this path."},
                           requestId);
}

HttpResponse FrontDoor::transportError(int status, std::string_view message) {
  std::string type = status == 413   ? "RequestEntityTooLargeException"
                     : status == 503 ? "ServiceUnavailableException"
                     : status == 408 ? "RequestTimeoutException"
                     : status >= 500 ? "InternalFailure"
                                     : "SerializationException";
  return jsonErrorResponse({type, status, std::string(message)}, "00000000-0000-4000-8000-000000000000");
}

}  // namespace berth::api

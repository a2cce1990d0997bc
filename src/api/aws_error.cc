#include "api/aws_error.h"

#include <nlohmann/json.hpp>

namespace berth::api {

HttpResponse jsonErrorResponse(const AwsError& error, const std::string& requestId) {
  HttpResponse r;
  r.status = error.httpStatus;
  r.setHeader("Content-Type", "application/x-amz-json-1.1");
  r.setHeader("x-amzn-RequestId", requestId);
  r.setHeader("x-amzn-ErrorType", error.type);
  nlohmann::json body = {{"__type", error.type}};
  // AWS leaves "message" out for a few serialization errors; so do we when there is none.
  if (!error.message.empty()) body["message"] = error.message;
  if (error.fields.is_object())
    for (const auto& [k, v] : error.fields.items())
      if (k != "__type" && k != "message") body[k] = v;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

bool commonAwsError(const Error& e, AwsError& out) {
  switch (e.code) {
    case ErrorCode::kAuthMissing: out = {"MissingAuthenticationTokenException", 400, e.message}; return true;
    case ErrorCode::kAuthUnrecognizedClient: out = {"UnrecognizedClientException", 400, e.message}; return true;
    case ErrorCode::kAuthInvalidSignature: out = {"InvalidSignatureException", 400, e.message}; return true;
    case ErrorCode::kAuthIncompleteSignature: out = {"IncompleteSignatureException", 400, e.message}; return true;
    case ErrorCode::kSerialization: out = {"SerializationException", 400, e.message}; return true;
    case ErrorCode::kUnknownOperation: out = {"UnknownOperationException", 400, e.message}; return true;
    case ErrorCode::kPayloadTooLarge: out = {"RequestEntityTooLargeException", 413, e.message}; return true;
    // Lost optimistic races after many retries: ThrottlingException makes SDKs back off and retry.
    case ErrorCode::kConflict: out = {"ThrottlingException", 400, "Rate exceeded: " + e.message}; return true;
    case ErrorCode::kUnavailable: out = {"ServiceUnavailableException", 503, e.message}; return true;
    default: return false;
  }
}

}  // namespace berth::api

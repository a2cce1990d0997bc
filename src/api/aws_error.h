#pragma once
// AWS JSON 1.1 error responses: {"__type": Code, "message": ...} with the code
// also in x-amzn-ErrorType, and the HTTP status AWS uses for that code.
#include <string>

#include <nlohmann/json.hpp>

#include "api/http_types.h"
#include "common/error.h"

namespace berth::api {

struct AwsError {
  std::string type;     // the model's exception shape name, e.g. "ClusterNotFoundException"
  int httpStatus = 400;
  std::string message;
  // Members some exceptions carry besides the message (e.g. ECR's
  // InvalidLayerPartException: uploadId, lastValidByteReceived...). Object or null.
  nlohmann::json fields = nullptr;
};

HttpResponse jsonErrorResponse(const AwsError& error, const std::string& requestId);

// Errors every JSON 1.1 service shares (auth, serialization, unknown operation, throttling).
// Returns false if `code` is service-specific.
bool commonAwsError(const Error& error, AwsError& out);

}  // namespace berth::api

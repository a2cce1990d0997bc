#pragma once
// The one HTTP handler behind the server's port: health checks, SigV4 on every
// AWS-protocol request, then routing by protocol (JSON 1.1 by X-Amz-Target;
// later Query by Action=) and the OCI distribution endpoints under /v2/, which
// authenticate with registry tokens instead of SigV4.
#include "api/events_api.h"
#include "api/http_types.h"
#include "api/json_protocol_router.h"
#include "api/oci_distribution_api.h"
#include "api/sigv4.h"
#include "common/clock.h"
#include "common/random.h"

namespace berth::api {

class FrontDoor {
 public:
  // `region` is the server's region: requests signed for another one are refused, as AWS does.
  FrontDoor(const CredentialProvider& credentials, std::string region, const Clock& clock, Random& random,
            const JsonProtocolRouter& json, const OciDistributionApi* registry = nullptr,
            const EventsApi* events = nullptr)
      : credentials_(credentials),
        region_(std::move(region)),
        clock_(clock),
        random_(random),
        json_(json),
        registry_(registry),
        events_(events) {}

  HttpResponse handle(const HttpRequest& request) const;

  // Response for failures the HTTP server detects before a handler runs.
  static HttpResponse transportError(int status, std::string_view message);

 private:
  const CredentialProvider& credentials_;
  const std::string region_;
  const Clock& clock_;
  Random& random_;
  const JsonProtocolRouter& json_;
  const OciDistributionApi* registry_;  // nullptr: no /v2/ endpoints
  const EventsApi* events_;             // nullptr: no /berth/events endpoints
};

}  // namespace berth::api

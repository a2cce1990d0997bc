#pragma once
// The CloudWatch Logs service (Logs_20140328) on the JSON 1.1 router: log
// groups, log streams, PutLogEvents / GetLogEvents / FilterLogEvents and
// retention, backed by logs::LogStore.
#include "api/json_protocol_router.h"
#include "logs/log_store.h"

namespace berth::api {

inline constexpr const char* kLogsTargetPrefix = "Logs_20140328";

// Logs' exception names for berth error codes.
AwsError logsError(const Error& error);

// Every implemented operation bound to `store` (which must outlive the router).
JsonService makeLogsService(logs::LogStore& store);

}  // namespace berth::api

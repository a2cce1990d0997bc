#include "api/logs_api.h"

#include <cstdlib>

#include "api/service_model.h"

namespace berth::api {

AwsError logsError(const Error& e) {
  auto as = [&](const char* type) { return AwsError{type, 400, e.message}; };
  switch (e.code) {
    case ErrorCode::kInvalidParameter:
    case ErrorCode::kClient: return as("InvalidParameterException");
    case ErrorCode::kNotFound:
    case ErrorCode::kResourceNotFound: return as("ResourceNotFoundException");
    case ErrorCode::kAlreadyExists: return as("ResourceAlreadyExistsException");
    case ErrorCode::kInvalidSequenceToken: return as("InvalidSequenceTokenException");
    case ErrorCode::kDataAlreadyAccepted: return as("DataAlreadyAcceptedException");
    case ErrorCode::kLimitExceeded: return as("LimitExceededException");
    case ErrorCode::kUnavailable: return {"ServiceUnavailableException", 503, e.message};
    default: return {"ServiceUnavailableException", 500, e.message.empty() ? "An internal error occurred." : e.message};
  }
}

JsonService makeLogsService(logs::LogStore& store) {
  JsonService s;
  const ServiceModel* model = ServiceModel::byTargetPrefix(kLogsTargetPrefix);
  if (!model) std::abort();  // compiled in; missing = build defect
  bindServiceModel(s, *model);
  s.mapError = logsError;
  auto* st = &store;
  auto bind = [st](Result<nlohmann::json> (logs::LogStore::*fn)(const nlohmann::json&)) {
    return [st, fn](const nlohmann::json& req, const SigV4Identity&) { return (st->*fn)(req); };
  };
  s.operations = {
      {"CreateLogGroup", bind(&logs::LogStore::createLogGroup)},
      {"DeleteLogGroup", bind(&logs::LogStore::deleteLogGroup)},
      {"DescribeLogGroups", bind(&logs::LogStore::describeLogGroups)},
      {"CreateLogStream", bind(&logs::LogStore::createLogStream)},
      {"DeleteLogStream", bind(&logs::LogStore::deleteLogStream)},
      {"DescribeLogStreams", bind(&logs::LogStore::describeLogStreams)},
      {"PutLogEvents", bind(&logs::LogStore::putLogEvents)},
      {"GetLogEvents", bind(&logs::LogStore::getLogEvents)},
      {"FilterLogEvents", bind(&logs::LogStore::filterLogEvents)},
      {"PutRetentionPolicy", bind(&logs::LogStore::putRetentionPolicy)},
      {"DeleteRetentionPolicy", bind(&logs::LogStore::deleteRetentionPolicy)},
  };
  return s;
}

}  // namespace berth::api

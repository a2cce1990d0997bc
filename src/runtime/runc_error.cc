#include "runtime/runc_error.h"

#include <nlohmann/json.hpp>

namespace berth::runtime {
namespace {

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

RuncError classifyRuncError(std::string_view stderrText) {
  RuncError out;
  // Collect the error messages; keep non-JSON lines too (runc prints some
  // failures, e.g. from `runc init`, before its logger is set up).
  std::size_t start = 0;
  while (start < stderrText.size()) {
    auto end = stderrText.find('\n', start);
    if (end == std::string_view::npos) end = stderrText.size();
    std::string_view line = stderrText.substr(start, end - start);
    start = end + 1;
    if (line.empty()) continue;
    std::string msg;
    auto parsed = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (parsed.is_object()) {
      if (parsed.value("level", "") != "error" && parsed.value("level", "") != "fatal") continue;
      msg = parsed.value("msg", "");
    } else {
      msg = std::string(line);
    }
    if (msg.empty()) continue;
    if (!out.message.empty()) out.message += "; ";
    out.message += msg;
  }

  const std::string_view m = out.message;
  if (contains(m, "container does not exist") || contains(m, "container not found")) {
    out.kind = RuncFailure::kNotFound;
  } else if (contains(m, "container not running") || contains(m, "process already finished") ||
             contains(m, "no such process")) {
    out.kind = RuncFailure::kNotRunning;
  } else if (contains(m, "already exists") || contains(m, "container with id exists")) {
    out.kind = RuncFailure::kAlreadyExists;
  } else if (contains(m, "that is not stopped") || contains(m, "is not stopped")) {
    out.kind = RuncFailure::kNotStopped;
  }
  return out;
}

Error toError(const RuncError& e, std::string_view operation, std::string_view id) {
  const std::string what = "runc " + std::string(operation) + " " + std::string(id) + ": " +
                           (e.message.empty() ? std::string("failed without a message") : e.message);
  switch (e.kind) {
    case RuncFailure::kNotFound:
      return Error::make(ErrorCode::kNotFound, what, std::string(id));
    case RuncFailure::kAlreadyExists:
    case RuncFailure::kNotStopped:
    case RuncFailure::kNotRunning:
      return Error::make(ErrorCode::kConflict, what, std::string(id));
    case RuncFailure::kOther:
      break;
  }
  return Error::make(ErrorCode::kInternal, what, std::string(id));
}

}  // namespace berth::runtime

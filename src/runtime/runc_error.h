#pragma once
// The one place that interprets runc's error output. runc is run with
// `--log-format json`, so errors arrive as {"level":"error","msg":...} lines
// on stderr; the message text is the only signal runc gives for "no such
// container" and friends, so matching on it lives here and is tested here.
#include <string>
#include <string_view>

#include "common/error.h"

namespace berth::runtime {

enum class RuncFailure {
  kNotFound,       // the container does not exist (never created, or deleted)
  kNotRunning,     // kill/exec on a container that has stopped
  kAlreadyExists,  // create with an id in use
  kNotStopped,     // delete without --force on a live container
  kOther,
};

struct RuncError {
  RuncFailure kind = RuncFailure::kOther;
  std::string message;  // runc's own message(s), for operators
};

// Classifies a failed runc invocation from its stderr (JSON log lines, or
// plain text from older runc / early failures).
RuncError classifyRuncError(std::string_view stderrText);

// The Error a Runtime method returns for it: kNotFound, kConflict or kInternal.
Error toError(const RuncError& e, std::string_view operation, std::string_view id);

}  // namespace berth::runtime

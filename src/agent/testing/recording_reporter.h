#pragma once
// A StateReporter for task-engine tests: keeps every SubmitTaskStateChange
// body the runner sends, in order, readable from the test thread.
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/task_runner.h"

namespace berth::agent::testing {

class RecordingReporter final : public StateReporter {
 public:
  Status submitTaskStateChange(const nlohmann::json& change) override {
    std::lock_guard lock(mu_);
    changes_.push_back(change);
    return okStatus();
  }
  std::vector<nlohmann::json> changes() const {
    std::lock_guard lock(mu_);
    return changes_;
  }
  std::optional<nlohmann::json> last() const {
    std::lock_guard lock(mu_);
    if (changes_.empty()) return std::nullopt;
    return changes_.back();
  }
  // The task status of each change, in order.
  std::vector<std::string> statuses() const {
    std::vector<std::string> out;
    for (const auto& c : changes()) out.push_back(c["status"].get<std::string>());
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<nlohmann::json> changes_;
};

}  // namespace berth::agent::testing

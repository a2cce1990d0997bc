#pragma once
// Structured logs: one JSON object per line on stderr (spdlog underneath).
// Use logEvent("message", {{"key", value}, ...}) so fields stay machine-readable.
#include <nlohmann/json.hpp>
#include <string_view>

namespace berth::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void setLevel(Level level);
// Cheap check so hot paths skip building fields for a level that is off.
bool enabled(Level level);
bool parseLevel(std::string_view name, Level& out);
void write(Level level, std::string_view message, const nlohmann::json& fields = nlohmann::json::object());

inline void debug(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { write(Level::kDebug, m, f); }
inline void info(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { write(Level::kInfo, m, f); }
inline void warn(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { write(Level::kWarn, m, f); }
inline void error(std::string_view m, const nlohmann::json& f = nlohmann::json::object()) { write(Level::kError, m, f); }

}  // namespace berth::log

// Process-wide structured log lines on stderr: plain text on a terminal (or by default),
// one JSON object per line with --log-format json. Thread-safe. Configure once from main
// before any thread starts; never pass secrets to it.
#ifndef WALSHIP_PROTO_CORE_LOG_H_
#define WALSHIP_PROTO_CORE_LOG_H_

#include "absl/strings/string_view.h"

#include "absl/strings/str_format.h"

namespace walship {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };
enum class LogFormat { kText, kJson };

// Sets the threshold and line format. `component` names the program ("agent", "replay").
void ConfigureLog(LogLevel min_level, LogFormat format, absl::string_view component);
bool LogEnabled(LogLevel level);
void LogLine(LogLevel level, absl::string_view message);

template <typename... Args>
void LogDebug(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(LogLevel::kDebug)) LogLine(LogLevel::kDebug, absl::StrFormat(format, args...));
}
template <typename... Args>
void LogInfo(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(LogLevel::kInfo)) LogLine(LogLevel::kInfo, absl::StrFormat(format, args...));
}
template <typename... Args>
void LogWarning(const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (LogEnabled(LogLevel::kWarning))
    LogLine(LogLevel::kWarning, absl::StrFormat(format, args...));
}
template <typename... Args>
void LogError(const absl::FormatSpec<Args...>& format, const Args&... args) {
  LogLine(LogLevel::kError, absl::StrFormat(format, args...));
}

}  // namespace walship

#endif  // WALSHIP_PROTO_CORE_LOG_H_

// Log line formatting. One write(2) per line so concurrent lines never interleave.
#include "proto/core/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace walship {
namespace {

std::atomic<int> g_min_level{static_cast<int>(LogLevel::kInfo)};
std::atomic<int> g_format{static_cast<int>(LogFormat::kText)};
std::atomic<const char*> g_component{"walship"};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

void AppendJsonString(std::string* out, absl::string_view text) {
  out->push_back('"');
  for (unsigned char c : text) {
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default:
        if (c < 0x20) {
          out->append(absl::StrFormat("\\u%04x", c));
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

}  // namespace

void ConfigureLog(LogLevel min_level, LogFormat format, absl::string_view component) {
  g_min_level = static_cast<int>(min_level);
  g_format = static_cast<int>(format);
  // Leaked on purpose: the name lives for the whole process and is read by any thread.
  g_component = (new std::string(component))->c_str();
}

bool LogEnabled(LogLevel level) { return static_cast<int>(level) >= g_min_level.load(); }

void LogLine(LogLevel level, absl::string_view message) {
  std::string time = absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::string line;
  if (g_format.load() == static_cast<int>(LogFormat::kJson)) {
    line = "{\"time\":\"" + time + "\",\"level\":\"" + LevelName(level) + "\",\"component\":";
    AppendJsonString(&line, g_component.load());
    line += ",\"message\":";
    AppendJsonString(&line, message);
    line += "}\n";
  } else {
    line = absl::StrFormat("%s %s %s: %s\n", time, g_component.load(), LevelName(level), message);
  }
  size_t done = 0;
  while (done < line.size()) {
    ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
}

}  // namespace walship

// Progress line formatting and the terminal/log renderer.
#include "agent/snapshot/base_progress.h"

#include <unistd.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "proto/core/log.h"

namespace walship::agent::snapshot {
namespace {

std::string FormatBytes(double bytes) {
  if (bytes >= 1024.0 * 1024 * 1024) return absl::StrFormat("%.1f GiB", bytes / (1 << 30));
  if (bytes >= 1024.0 * 1024) return absl::StrFormat("%.1f MiB", bytes / (1 << 20));
  if (bytes >= 1024.0) return absl::StrFormat("%.1f KiB", bytes / 1024);
  return absl::StrFormat("%.0f B", bytes);
}

std::string FormatClock(absl::Duration d) {
  int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds >= 3600) {
    return absl::StrFormat("%d:%02d:%02d", seconds / 3600, (seconds / 60) % 60, seconds % 60);
  }
  return absl::StrFormat("%d:%02d", seconds / 60, seconds % 60);
}

}  // namespace

std::string FormatProgress(const BaseProgress& p) {
  std::string line = absl::StrFormat("base snapshot: %d/%d tables, %d rows", p.tables_done,
                                     p.tables_total, p.rows);
  if (p.estimated_rows > 0 && !p.finished) {
    absl::StrAppendFormat(&line, " of ~%d", p.estimated_rows);
  }
  absl::StrAppend(&line, ", ", FormatBytes(static_cast<double>(p.bytes)), ", ",
                  FormatBytes(p.bytes_per_second), "/s");
  if (p.finished) {
    absl::StrAppend(&line, ", done in ", FormatClock(p.elapsed));
  } else if (p.eta) {
    absl::StrAppend(&line, ", ETA ", FormatClock(*p.eta));
  }
  return line;
}

ProgressCallback MakeDefaultProgressRenderer(int fd, absl::Duration log_every) {
  if (isatty(fd)) {
    return [fd](const BaseProgress& p) {
      std::string line = absl::StrCat("\r\033[K", FormatProgress(p), p.finished ? "\n" : "");
      ssize_t ignored = write(fd, line.data(), line.size());
      (void)ignored;
    };
  }
  auto last = std::make_shared<absl::Time>(absl::InfinitePast());
  return [last, log_every](const BaseProgress& p) {
    absl::Time now = absl::Now();
    if (!p.finished && now - *last < log_every) return;
    *last = now;
    LogInfo("%s", FormatProgress(p));
  };
}

}  // namespace walship::agent::snapshot

// Progress line formatting and throttling.
#include "replay/apply/progress_reporter.h"

#include <string>

#include "absl/strings/str_format.h"
#include "proto/core/log.h"
#include "proto/core/lsn.h"
#include "replay/plan/recovery_target.h"

namespace walship::replay {

ProgressReporter::ProgressReporter(bool terminal, FILE* out, absl::Duration log_interval,
                                   Clock& clock)
    : clock_(clock),
      terminal_(terminal),
      out_(out),
      interval_(terminal ? absl::Milliseconds(250) : log_interval),
      start_(clock.Now()),
      next_(start_ + interval_) {}

std::string ProgressReporter::Line(const ApplierStats& stats, absl::Time now) const {
  double seconds = std::max(absl::ToDoubleSeconds(now - start_), 1e-3);
  return absl::StrFormat(
      "applied %d transactions, %d events%s; at %s (%s); %.0f events/s", stats.transactions,
      stats.events, stats.set_events > 0 ? absl::StrFormat(" (%d as sets)", stats.set_events) : "",
      stats.last_commit_lsn.ToString(),
      stats.last_commit_time_us ? FormatUtcMicros(stats.last_commit_time_us) : "-",
      static_cast<double>(stats.events) / seconds);
}

void ProgressReporter::Update(const ApplierStats& stats) {
  // Reading the clock for every event would cost more than the check saves.
  if (++calls_ % 256 != 0) return;
  absl::Time now = clock_.Now();
  if (now < next_) return;
  next_ = now + interval_;
  if (terminal_) {
    absl::FPrintF(out_, "\r\033[K%s", Line(stats, now));
    std::fflush(out_);
  } else {
    LogInfo("%s", Line(stats, now));
  }
}

void ProgressReporter::Finish(const ApplierStats& stats) {
  if (terminal_) {
    absl::FPrintF(out_, "\r\033[K");
    std::fflush(out_);
  }
  LogInfo("%s", Line(stats, clock_.Now()));
}

}  // namespace walship::replay

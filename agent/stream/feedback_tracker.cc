// Acknowledgement bookkeeping.
#include "agent/stream/feedback_tracker.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace walship::agent {

FeedbackTracker::FeedbackTracker(Lsn confirmed, absl::Duration status_interval,
                                 absl::Duration min_status_gap)
    : status_interval_(status_interval),
      min_status_gap_(min_status_gap),
      flushed_(confirmed),
      received_(confirmed),
      last_handed_(confirmed),
      last_sent_flushed_(confirmed) {}

void FeedbackTracker::OnReceived(Lsn lsn) { received_ = std::max(received_, lsn); }

void FeedbackTracker::OnTransaction(Lsn end_lsn, bool empty) {
  last_handed_ = std::max(last_handed_, end_lsn);
  in_flight_.push_back({end_lsn, empty});
  OnDurable(durable_);
}

void FeedbackTracker::OnDurable(Lsn watermark) {
  durable_ = std::max(durable_, watermark);
  while (!in_flight_.empty() &&
         (in_flight_.front().empty || in_flight_.front().end_lsn <= durable_)) {
    if (in_flight_.front().empty) {
      OnIdlePosition(in_flight_.front().end_lsn);
    } else {
      flushed_ = std::max(flushed_, in_flight_.front().end_lsn);
    }
    in_flight_.pop_front();
  }
}

void FeedbackTracker::OnKeepalive(Lsn wal_end, bool in_transaction) {
  if (in_flight_.empty() && !in_transaction) OnIdlePosition(wal_end);
}

void FeedbackTracker::OnIdlePosition(Lsn lsn) {
  pending_idle_ = std::max(pending_idle_, lsn);
  flushed_ = std::max(flushed_, std::min(lsn, idle_limit_));
}

void FeedbackTracker::SetIdleLimit(Lsn limit) {
  idle_limit_ = limit;
  flushed_ = std::max(flushed_, std::min(pending_idle_, idle_limit_));
}

bool FeedbackTracker::StatusDue(absl::Time now) const {
  if (now - last_sent_ >= status_interval_) return true;
  return flushed_ > last_sent_flushed_ && now - last_sent_ >= min_status_gap_;
}

absl::Time FeedbackTracker::NextStatusDeadline() const {
  if (flushed_ > last_sent_flushed_) return last_sent_ + min_status_gap_;
  return last_sent_ + status_interval_;
}

void FeedbackTracker::OnStatusSent(absl::Time now) {
  last_sent_ = now;
  last_sent_flushed_ = flushed_;
}

absl::StatusOr<absl::Duration> ParsePgDuration(absl::string_view text) {
  absl::string_view trimmed = absl::StripAsciiWhitespace(text);
  size_t digits = 0;
  while (digits < trimmed.size() && absl::ascii_isdigit(trimmed[digits])) ++digits;
  int64_t value = 0;
  if (digits == 0 || digits > 12 || !absl::SimpleAtoi(trimmed.substr(0, digits), &value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot read \"", text, "\" as a PostgreSQL duration"));
  }
  absl::string_view unit = absl::StripAsciiWhitespace(trimmed.substr(digits));
  if (unit.empty() || unit == "ms") return absl::Milliseconds(value);
  if (unit == "us") return absl::Microseconds(value);
  if (unit == "s") return absl::Seconds(value);
  if (unit == "min") return absl::Minutes(value);
  if (unit == "h") return absl::Hours(value);
  if (unit == "d") return absl::Hours(24 * value);
  return absl::InvalidArgumentError(
      absl::StrCat("cannot read \"", text, "\" as a PostgreSQL duration (unit \"", unit, "\")"));
}

absl::Duration StatusIntervalFor(absl::Duration configured, absl::Duration sender_timeout) {
  if (sender_timeout <= absl::ZeroDuration()) return configured;
  return std::min(configured, std::max(sender_timeout / 3, absl::Milliseconds(100)));
}

}  // namespace walship::agent
